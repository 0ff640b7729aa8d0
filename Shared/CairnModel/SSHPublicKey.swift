public import Foundation
import Crypto

/// An SSH public key as people paste it (`ssh-ed25519 AAAA… comment`, OpenSSH's one-line
/// form), checked and fingerprinted: ed25519, ECDSA (P-256, P-384, P-521) and RSA of at
/// least 2,048 bits are kept; anything else is refused with the reason.
///
/// Read by hand: the key blob is RFC 4253's wire format (length-prefixed strings and mpints),
/// a few dozen lines, and swift-nio-ssh reads no RSA keys. Every length is checked against
/// what is left, so no pasted text can make the reader run past its bytes.
public struct SSHPublicKey: Sendable, Hashable {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …
    public let type: String
    /// The key blob (the base64 field, decoded).
    public let blob: [UInt8]
    /// The key's size in bits (256 for ed25519, the curve's for ECDSA, the modulus's for RSA).
    public let bits: Int
    public let comment: String

    /// The most bytes a pasted key may have (an RSA key of 16,384 bits is about 2,800).
    public static let maxLength = 8 * 1024
    public static let minimumRSABits = 2048
    public static let maximumRSABits = 16384

    /// `type base64`, without the comment: how the key is stored and shown.
    public var openSSH: String { "\(type) \(Data(blob).base64EncodedString())" }

    /// OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the blob's SHA-256.
    public var fingerprint: String { Self.fingerprint(of: blob) }

    public static func fingerprint(of blob: [UInt8]) -> String {
        "SHA256:" + Data(SHA256.hash(data: blob)).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    /// A short name for the key's kind, as `ssh-keygen -l` says it: `ED25519`, `ECDSA`, `RSA`.
    public var kind: String {
        switch type {
        case "ssh-ed25519": "ED25519"
        case "ssh-rsa": "RSA"
        default: "ECDSA"
        }
    }

    /// Why a key cannot be read or kept.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads one key line; throws with the reason when it is not a key Cairn keeps.
    public init(_ text: String) throws(Problem) {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !line.isEmpty else { throw Problem("key: paste a public key, such as the contents of ~/.ssh/id_ed25519.pub") }
        guard line.utf8.count <= Self.maxLength else { throw Problem("key: longer than \(Self.maxLength) bytes; paste the public key, one line") }
        guard !line.contains("PRIVATE KEY") else { throw Problem("key: this is a private key; paste the public one (the .pub file) and keep this one secret") }
        let fields = line.split(maxSplits: 2, whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2 else { throw Problem("key: expected a type, then the key in base64, then an optional comment") }
        let named = String(fields[0])
        guard let data = Data(base64Encoded: String(fields[1])), !data.isEmpty else { throw Problem("key: the key field is not base64") }
        var reader = WireReader(Array(data))
        let type = try reader.string("type")
        guard type == named else { throw Problem("key: it says \(named.prefix(40)) but holds a \(type.prefix(40)) key") }
        switch type {
        case "ssh-ed25519":
            guard try reader.bytes("ed25519 key").count == 32 else { throw Problem("key: an ed25519 key has 32 bytes") }
            bits = 256
        case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
            let curve = try reader.string("curve")
            guard "ecdsa-sha2-" + curve == type else { throw Problem("key: the curve \(curve.prefix(20)) does not match \(type)") }
            let point = Data(try reader.bytes("ECDSA point"))
            // The point must lie on its curve, as OpenSSH checks.
            let onCurve: Bool = switch curve {
            case "nistp256": (try? P256.Signing.PublicKey(x963Representation: point)) != nil
            case "nistp384": (try? P384.Signing.PublicKey(x963Representation: point)) != nil
            default: (try? P521.Signing.PublicKey(x963Representation: point)) != nil
            }
            guard onCurve else { throw Problem("key: the ECDSA point is not a point of \(curve)") }
            bits = ["nistp256": 256, "nistp384": 384][curve] ?? 521
        case "ssh-rsa":
            _ = try reader.bytes("RSA exponent")
            // An mpint: positive, without leading zeros but the one that keeps the top bit clear
            // (another spelling of the same key would have another fingerprint).
            let encoded = try reader.bytes("RSA modulus")
            guard let first = encoded.first, first & 0x80 == 0 else { throw Problem("key: the RSA modulus is not a positive number") }
            let modulus = first == 0 ? encoded.dropFirst() : encoded
            guard let top = modulus.first, first != 0 || top & 0x80 != 0 else {
                throw Problem("key: the RSA modulus is not written in its shortest form")
            }
            bits = (modulus.count - 1) * 8 + (8 - top.leadingZeroBitCount)
            guard bits >= Self.minimumRSABits else { throw Problem("key: RSA keys must have at least \(Self.minimumRSABits) bits; this one has \(bits)") }
            guard bits <= Self.maximumRSABits else { throw Problem("key: RSA keys may have at most \(Self.maximumRSABits) bits, as OpenSSH takes; this one has \(bits)") }
        case "ssh-dss":
            throw Problem("key: DSA keys are refused (too weak, and OpenSSH no longer takes them); use ed25519")
        default:
            throw Problem("key: \(type.prefix(60)) keys are not taken; use ed25519, ECDSA or RSA of at least \(Self.minimumRSABits) bits")
        }
        guard reader.isAtEnd else { throw Problem("key: unexpected bytes after the key") }
        self.type = type
        self.blob = Array(data)
        comment = fields.count > 2 ? fields[2].trimmingCharacters(in: .whitespaces) : ""
        guard !comment.contains(where: \.isNewline) else { throw Problem("key: one key at a time, on one line") }
        guard !comment.unicodeScalars.contains(where: { $0 != "\t" && $0.properties.generalCategory == .control }) else {
            throw Problem("key: the comment after the key holds a control character")
        }
    }

    /// RFC 4253's length-prefixed fields, read with every length checked.
    struct WireReader {
        private let bytes: [UInt8]
        private var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var isAtEnd: Bool { index == bytes.count }

        mutating func bytes(_ what: String) throws(Problem) -> ArraySlice<UInt8> {
            guard bytes.count - index >= 4 else { throw Problem("key: cut short before its \(what)") }
            let length = bytes[index..<index + 4].reduce(0) { $0 << 8 | Int($1) }
            index += 4
            guard length <= bytes.count - index else { throw Problem("key: its \(what) runs past its end") }
            defer { index += length }
            return bytes[index..<index + length]
        }

        mutating func string(_ what: String) throws(Problem) -> String {
            String(decoding: try bytes(what), as: UTF8.self)
        }
    }
}
