import CairnProtocol
import Crypto
import Foundation

/// AWS Signature Version 4 for S3 requests, written here because no package on this
/// machine offers it without the whole AWS SDK (Soto is not available). It follows the
/// published algorithm: a canonical request, a string to sign over its hash, and an HMAC
/// chain from the secret key through date, region and service.
struct SigV4: Sendable {
    let accessKeyID: String
    let secretAccessKey: String
    let region: String
    var service = "s3"

    /// The payload hash that tells S3 the body is not signed (used for multipart parts,
    /// whose whole-blob hash is checked by the blob store itself).
    static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The SHA-256 of an empty body.
    static let emptyPayload = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The headers to add to a request so that S3 accepts it: `x-amz-date`,
    /// `x-amz-content-sha256` and `Authorization`. `path` is the URI path as sent
    /// (already percent-encoded), `query` the parameters unencoded, `headers` every other
    /// header that is signed (at least `host`).
    func sign(method: String, path: String, query: [(String, String)], headers: [String: String], payloadHash: String, date: Date) -> [String: String] {
        let stamp = Self.timestamp(date)
        let day = String(stamp.prefix(8))
        var signed = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value.trimmingCharacters(in: .whitespaces)) })
        signed["x-amz-date"] = stamp
        signed["x-amz-content-sha256"] = payloadHash
        let names = signed.keys.sorted()
        let canonical = [
            method, path, Self.canonicalQuery(query),
            names.map { "\($0):\(signed[$0]!)\n" }.joined(), names.joined(separator: ";"), payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let toSign = "AWS4-HMAC-SHA256\n\(stamp)\n\(scope)\n\(SHA256.hash(data: Data(canonical.utf8)).hexString)"
        var key = SymmetricKey(data: Data("AWS4\(secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Data(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key)).hexString
        return [
            "x-amz-date": stamp, "x-amz-content-sha256": payloadHash,
            "Authorization": "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope),SignedHeaders=\(names.joined(separator: ";")),Signature=\(signature)",
        ]
    }

    /// `name=value&…` sorted by name, each part percent-encoded as SigV4 requires; also the
    /// query string to send, so that what is signed is what is sent.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        let pairs: [String] = query.map { (name: String, value: String) -> String in "\(encode(name))=\(encode(value))" }
        return pairs.sorted().joined(separator: "&")
    }

    /// RFC 3986 percent-encoding: only letters, digits and `-._~` stay as they are.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : String($0) } ?? "00" }
        return "\(parts.year!)\(two(parts.month))\(two(parts.day))T\(two(parts.hour))\(two(parts.minute))\(two(parts.second))Z"
    }
}
