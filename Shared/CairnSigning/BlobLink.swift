public import Foundation

/// A public link to one blob, signed by the gateway and checked by the blob store alone:
/// `/dl/<sha256>?token=…` grants one method on one blob until it expires.
public struct BlobLink: Sendable, Codable, Equatable {
    public static let salt = "cairn.blob-link"

    /// The blob's SHA-256, hex.
    public var blob: String
    /// `GET` (which also allows `HEAD`) or `PUT`.
    public var method: String
    /// Seconds since 1970 after which the link is refused.
    public var expires: Int64
    /// The name a download is saved under (`Content-Disposition`), when the link is for one.
    public var filename: String?
    /// For an upload: the receipt the blob store keeps once the whole body has arrived and
    /// hashed to `blob`, which proves the uploader had the content (see `UploadReceipt`).
    public var receipt: String?

    public init(blob: String, method: String, expires: Date, filename: String? = nil, receipt: String? = nil) {
        self.blob = blob
        self.method = method
        self.expires = Int64(expires.timeIntervalSince1970)
        self.filename = filename
        self.receipt = receipt
    }

    /// The link's path and query, for the blob store's public URL.
    public func path(signer: Signer) throws -> String {
        "/dl/\(blob)?token=\(try signer.sign(self, salt: Self.salt))"
    }

    /// Why a link was refused.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case invalid(SigningError)
        case otherBlob
        case otherMethod(String)
        case expired

        public var description: String {
            switch self {
            case .invalid(let error): "the link's token is not valid: \(error)"
            case .otherBlob: "the link was made for another blob"
            case .otherMethod(let method): "the link allows \(method) only"
            case .expired: "the link has expired"
            }
        }
    }

    /// The grant in `token`, if it allows `method` on `blob` now.
    public static func verify(_ token: String, blob: String, method: String, signer: Signer, now: Date = Date()) throws(Refusal) -> BlobLink {
        let link: BlobLink
        do {
            link = try signer.unsign(token, as: BlobLink.self, salt: salt, maxAge: nil, now: now)
        } catch {
            throw .invalid(error)
        }
        guard link.blob == blob else { throw .otherBlob }
        guard link.method == method || (link.method == "GET" && method == "HEAD") else { throw .otherMethod(link.method) }
        guard Int64(now.timeIntervalSince1970) <= link.expires else { throw .expired }
        return link
    }
}
