public import CairnProtocol
public import CairnSigning
import Crypto
public import Foundation
public import HTTPTypes
public import Hummingbird
import Logging
import Synchronization

/// The signed token every internal request carries, valid for a minute, signed with the
/// shared key under its own salt. It names the whole call, so that a token seen in transit
/// or in a log opens nothing else: method, path with query, the daemon it is for, the
/// forwarded user and visitor, the branch rules sent with a push (their SHA-256), and the
/// SHA-256 of the body. A body streamed as it arrives
/// (a push, an upload) cannot be hashed first: its token says so (`unhashedBody`), is taken
/// only by routes that declare streamed bodies, and only once.
public struct InternalSignature: Sendable {
    public static let salt = "cairn.internal"
    public static let maxAge: Duration = .seconds(60)
    /// What a token carries in place of a body hash for a streamed body.
    public static let unhashedBody = "-"

    /// One internal call, as its token names it.
    public struct Call: Sendable, Equatable {
        public var method: String
        public var path: String
        public var daemon: Daemon
        /// The body's SHA-256 in hex, or `unhashedBody` for a streamed body.
        public var bodyHash: String
        /// The `X-Cairn-User` and `X-Cairn-Visitor` headers ("" when absent).
        public var user: String
        public var visitor: String
        /// The SHA-256 of the `X-Cairn-Branch-Rules` header ("" when absent).
        public var rulesHash: String

        public init(
            method: String, path: String, daemon: Daemon, bodyHash: String = InternalSignature.emptyBodyHash, user: String = "", visitor: String = "",
            rulesHash: String = ""
        ) {
            self.rulesHash = rulesHash
            self.method = method.uppercased()
            self.path = path
            self.daemon = daemon
            self.bodyHash = bodyHash
            self.user = user
            self.visitor = visitor
        }
    }

    /// The SHA-256 of no bytes, the hash of a request without a body.
    public static let emptyBodyHash = bodyHash(of: ByteBuffer())

    /// `body`'s SHA-256 in hex.
    public static func bodyHash(of body: ByteBuffer) -> String {
        SHA256.hash(data: body.readableBytesView).hexString
    }

    private struct Claim: Codable {
        let m: String, p: String, d: String, b: String, u: String, v: String
        /// A random nonce: what makes a streamed call's token usable once.
        let n: String
        /// The branch rules' hash; absent from the tokens of releases before it (no rules then).
        let r: String?
    }

    /// The hash a token carries for a branch rules header ("" for none).
    public static func rulesHash(_ header: String?) -> String {
        guard let header, !header.isEmpty else { return "" }
        return SHA256.hash(data: Data(header.utf8)).hexString
    }

    public let signer: Signer

    public init(signer: Signer) { self.signer = signer }

    /// The header value for `call`.
    public func token(for call: Call, now: Date = Date()) throws -> String {
        let nonce = (0..<2).map { _ in String(UInt64.random(in: .min ... .max), radix: 36) }.joined(separator: ".")
        return try signer.sign(
            Claim(m: call.method, p: call.path, d: call.daemon.rawValue, b: call.bodyHash, u: call.user, v: call.visitor, n: nonce, r: call.rulesHash),
            salt: Self.salt, now: now)
    }

    /// The call `token` was made for, if it is ours and recent.
    public func verify(_ token: String) throws(SigningError) -> (call: Call, nonce: String) {
        let claim = try signer.unsign(token, as: Claim.self, salt: Self.salt, maxAge: Self.maxAge)
        guard let daemon = Daemon(rawValue: claim.d) else { throw .badSignature }
        return (Call(method: claim.m, path: claim.p, daemon: daemon, bodyHash: claim.b, user: claim.u, visitor: claim.v, rulesHash: claim.r ?? ""), claim.n)
    }
}

/// Refuses with 401 any request to an internal daemon whose internal signature is missing,
/// old, not ours, or made for another call (another method, path, daemon, user, visitor,
/// branch rules or body); health and metrics stay open for probes. A body named by its hash is read whole
/// (at most `maxHashedBody`) and checked before the route sees it.
public struct InternalSignatureMiddleware<Context: RequestContext>: RouterMiddleware {
    public static var openPaths: Set<String> { ["/healthz", "/readyz", "/metrics"] }
    /// The largest body a signed hash may cover; streamed bodies have no limit here.
    public static var maxHashedBody: Int { 16 << 20 }

    let signature: InternalSignature
    let daemon: Daemon
    /// Paths under these prefixes check their own credentials (the blob store's signed links).
    let publicPrefixes: [String]
    /// Whether a route takes its body as a stream (and so a token without a body hash).
    let streamsBody: @Sendable (HTTPRequest.Method, String) -> Bool
    let replays = SeenNonces()

    public init(
        signature: InternalSignature, daemon: Daemon, publicPrefixes: [String] = [],
        streamsBody: @escaping @Sendable (HTTPRequest.Method, String) -> Bool = { _, _ in false }
    ) {
        self.signature = signature
        self.daemon = daemon
        self.publicPrefixes = publicPrefixes
        self.streamsBody = streamsBody
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.openPaths.contains(path) || publicPrefixes.contains(where: { path.hasPrefix($0) }) { return try await next(request, context) }
        guard let token = request.headers[HTTPField.Name(InternalHeader.signature)!] else {
            throw HTTPError(.unauthorized, message: "internal request without an \(InternalHeader.signature) header")
        }
        var request = request
        do {
            let (call, nonce) = try signature.verify(token)
            if let problem = mismatch(call, request) { throw Refusal(problem) }
            if call.bodyHash == InternalSignature.unhashedBody {
                guard streamsBody(request.method, path) else { throw Refusal("this route takes a hashed body, the token has none") }
                guard replays.firstUse(nonce, for: InternalSignature.maxAge + .seconds(5)) else { throw Refusal("the token of a streamed call was used before") }
            } else {
                let body: ByteBuffer
                do {
                    body = try await request.collectBody(upTo: Self.maxHashedBody)
                } catch {
                    throw HTTPError(.contentTooLarge, message: "an internal request body with a signed hash may hold at most \(Self.maxHashedBody) bytes")
                }
                guard InternalSignature.bodyHash(of: body) == call.bodyHash else { throw Refusal("made for another body") }
            }
        } catch let error as HTTPError {
            throw error
        } catch {
            context.logger.warning("internal.signature_refused", metadata: ["reason": "\(error)"])
            throw HTTPError(.unauthorized, message: "internal signature refused: \(error)")
        }
        return try await next(request, context)
    }

    /// What of the request differs from the call its token names, if anything.
    private func mismatch(_ call: InternalSignature.Call, _ request: Request) -> String? {
        if call.method != request.method.rawValue || call.path != request.uri.description { return "made for another method or path" }
        if call.daemon != daemon { return "made for \(call.daemon.executable), not \(daemon.executable)" }
        if call.user != request.headers[HTTPField.Name(ForwardedHeader.user)!] ?? "" { return "made for another \(ForwardedHeader.user)" }
        if call.visitor != request.headers[HTTPField.Name(ForwardedHeader.visitor)!] ?? "" { return "made for another \(ForwardedHeader.visitor)" }
        if call.rulesHash != InternalSignature.rulesHash(request.headers[HTTPField.Name(ForwardedHeader.branchRules)!]) {
            return "made for other \(ForwardedHeader.branchRules)"
        }
        return nil
    }

    private struct Refusal: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// The nonces of tokens used lately, each until it expires: a token for a streamed body is
/// taken once. In memory, since each internal daemon is one process.
final class SeenNonces: Sendable {
    private let seen = Mutex<(expiries: [String: ContinuousClock.Instant], lastSweep: ContinuousClock.Instant)>(([:], .now))

    /// Whether `nonce` is new (and now seen until `lifetime` from now).
    func firstUse(_ nonce: String, for lifetime: Duration) -> Bool {
        let now = ContinuousClock.now
        return seen.withLock { state in
            if now - state.lastSweep > .seconds(10) {
                state.expiries = state.expiries.filter { $0.value > now }
                state.lastSweep = now
            }
            if let expiry = state.expiries[nonce], expiry > now { return false }
            state.expiries[nonce] = now + lifetime
            return true
        }
    }
}
