public import Foundation
import Crypto
import Synchronization

/// Signs JSON values so they can travel through untrusted hands (cookies, links, headers)
/// and come back verified, without a database lookup.
///
/// A token is `payload.timestamp.signature`, each part URL-safe base64 (the timestamp is
/// decimal seconds). The signature is HMAC-SHA256 over `payload.timestamp` with a key
/// derived from the secret and a *salt*, the namespace that keeps a token made for one
/// purpose (a session cookie) from being accepted for another (a download link).
///
/// Key rotation: new tokens use `key`; tokens signed with any of `fallbackKeys` still verify.
public struct Signer: Sendable {
    private let key: SymmetricKey
    private let fallbackKeys: [SymmetricKey]
    /// The keys derived per salt, made once: a page view signs and verifies several tokens.
    private let derived = DerivedKeys()

    /// - Parameters:
    ///   - key: the current secret; at least 32 bytes.
    ///   - fallbackKeys: earlier secrets whose tokens are still accepted.
    public init(key: String, fallbackKeys: [String] = []) throws(SigningError) {
        guard key.utf8.count >= 32 else { throw .weakKey(length: key.utf8.count) }
        self.key = SymmetricKey(data: Data(key.utf8))
        self.fallbackKeys = fallbackKeys.map { SymmetricKey(data: Data($0.utf8)) }
    }

    /// Signs `value` for the namespace `salt`, stamped with `now`.
    public func sign(_ value: some Encodable, salt: String, now: Date = Date()) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = Base64URL.encode(try encoder.encode(value))
        let signed = "\(payload).\(Int64(now.timeIntervalSince1970))"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: derived.key(0, key, salt: salt))
        return "\(signed).\(Base64URL.encode(Data(mac)))"
    }

    /// Verifies `token` for `salt` and decodes its value.
    ///
    /// - Parameter maxAge: how old the token may be; nil for no limit.
    /// - Throws: `SigningError.malformed`, `.badSignature` (tampered, another salt or an
    ///   unknown key), `.expired`, or `.undecodable` when the signed JSON is not a `T`.
    public func unsign<T: Decodable>(_ token: String, as type: T.Type, salt: String, maxAge: Duration?, now: Date = Date()) throws(SigningError) -> T {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let timestamp = Int64(parts[1]), let mac = Base64URL.decode(parts[2]),
              let payload = Base64URL.decode(parts[0]),
              // Only the canonical spelling: base64 has several for the same bytes.
              Base64URL.encode(mac) == parts[2], Base64URL.encode(payload) == parts[0]
        else { throw .malformed }
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        let verified = ([key] + fallbackKeys).enumerated().contains { index, candidate in
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: derived.key(index, candidate, salt: salt))
        }
        guard verified else { throw .badSignature }
        if let maxAge {
            let age = now.timeIntervalSince1970 - Double(timestamp)
            let limit = Double(maxAge.components.seconds) + Double(maxAge.components.attoseconds) / 1e18
            if age > limit { throw .expired(ageSeconds: Int(age), maxAgeSeconds: Int(limit)) }
        }
        do {
            return try JSONDecoder().decode(T.self, from: payload)
        } catch {
            throw .undecodable(String(describing: error))
        }
    }

    /// One key per salt, so a signature for one namespace means nothing in another.
    fileprivate static func derive(_ key: SymmetricKey, salt: String) -> SymmetricKey {
        let derived = HMAC<SHA256>.authenticationCode(for: Data("cairn.signing:\(salt)".utf8), using: key)
        return SymmetricKey(data: Data(derived))
    }
}

/// Why a token was refused.
public enum SigningError: Error, Equatable, CustomStringConvertible {
    /// The token is not `payload.timestamp.signature`.
    case malformed
    /// The signature does not match: tampered, signed for another salt, or by an unknown key.
    case badSignature
    /// The signature is right but the token is older than allowed.
    case expired(ageSeconds: Int, maxAgeSeconds: Int)
    /// The signed JSON does not decode as the type asked for.
    case undecodable(String)
    /// The signing key is too short to be safe.
    case weakKey(length: Int)

    public var description: String {
        switch self {
        case .malformed: "signed token is malformed"
        case .badSignature: "signature does not match"
        case .expired(let age, let maxAge): "signed token expired: \(age)s old, \(maxAge)s allowed"
        case .undecodable(let reason): "signed value does not decode: \(reason)"
        case .weakKey(let length): "signing key must be at least 32 bytes, got \(length)"
        }
    }
}

/// The derived keys of one signer, by the index of the secret (0: the current one) and the
/// salt. The salts are the code's own constants, so this stays small.
private final class DerivedKeys: Sendable {
    private struct Name: Hashable {
        let index: Int
        let salt: String
    }

    private let keys = Mutex<[Name: SymmetricKey]>([:])

    func key(_ index: Int, _ secret: SymmetricKey, salt: String) -> SymmetricKey {
        let name = Name(index: index, salt: salt)
        if let known = keys.withLock({ $0[name] }) { return known }
        let made = Signer.derive(secret, salt: salt)
        keys.withLock { $0[name] = made }
        return made
    }
}
