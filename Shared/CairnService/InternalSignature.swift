import CairnProtocol
public import CairnSigning
public import Foundation
public import HTTPTypes
public import Hummingbird
import Logging

/// The signed token every internal request carries: method and path (with query), signed
/// with the shared key under its own salt, valid for a minute.
public struct InternalSignature: Sendable {
    public static let salt = "cairn.internal"
    public static let maxAge: Duration = .seconds(60)

    private struct Claim: Codable { let m: String; let p: String }

    public let signer: Signer

    public init(signer: Signer) { self.signer = signer }

    /// The header value for a request of `method` to `path` (path and query).
    public func token(method: String, path: String, now: Date = Date()) throws -> String {
        try signer.sign(Claim(m: method.uppercased(), p: path), salt: Self.salt, now: now)
    }

    /// Whether `token` was made for exactly this method and path, recently, with our key.
    public func verify(_ token: String, method: String, path: String) throws(SigningError) {
        let claim = try signer.unsign(token, as: Claim.self, salt: Self.salt, maxAge: Self.maxAge)
        guard claim.m == method.uppercased(), claim.p == path else { throw .badSignature }
    }
}

/// Refuses with 401 any request to an internal daemon without a valid internal signature;
/// health and metrics stay open for probes.
public struct InternalSignatureMiddleware<Context: RequestContext>: RouterMiddleware {
    public static var openPaths: Set<String> { ["/healthz", "/readyz", "/metrics"] }

    let signature: InternalSignature
    /// Paths under these prefixes check their own credentials (the blob store's signed links).
    let publicPrefixes: [String]

    public init(signature: InternalSignature, publicPrefixes: [String] = []) {
        self.signature = signature
        self.publicPrefixes = publicPrefixes
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.openPaths.contains(path) || publicPrefixes.contains(where: { path.hasPrefix($0) }) { return try await next(request, context) }
        guard let token = request.headers[HTTPField.Name(InternalHeader.signature)!] else {
            throw HTTPError(.unauthorized, message: "internal request without an \(InternalHeader.signature) header")
        }
        do {
            try signature.verify(token, method: request.method.rawValue, path: request.uri.description)
        } catch {
            context.logger.warning("internal.signature_refused", metadata: ["reason": "\(error)"])
            throw HTTPError(.unauthorized, message: "internal signature refused: \(error)")
        }
        return try await next(request, context)
    }
}
