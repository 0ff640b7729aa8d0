public import Foundation
import CairnProtocol
import Crypto

/// Analytics visitor ids: 16 hex digits of an HMAC, keyed by a key derived from the signing
/// key, over the UTC day and either the signed-in user's id or the client's address and user
/// agent. The same all day and unrelated the next; the raw address never leaves the daemon
/// that saw it. The gateway and `cairn-sshd` make them alike, so a person counts once.
public struct VisitorIDs: Sendable {
    private let key: SymmetricKey
    /// Ids made lately, by what they are made of: a page view costs a lookup, not an HMAC
    /// (at most 10,000 of up to 512 bytes each).
    private let recent = RecentValues<String, String>(lifetime: .seconds(60))

    public init(signingKey: String) {
        key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data("cairn.visitor".utf8), using: SymmetricKey(data: Data(signingKey.utf8))))
    }

    /// The visitor id for today of a signed-in user, or of an address and user agent.
    public func id(user: Int64?, address: String, userAgent: String?, now: Date = Date()) -> String {
        let day = Int(now.timeIntervalSince1970 / 86_400)
        let who = user.map { "user:\($0)" } ?? "client:\(address)|\(userAgent ?? "")"
        let input = "\(day)|\(who)"
        if let kept = recent.kept(input) { return kept }
        let made = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: key).prefix(8).hexString
        if input.utf8.count <= 512 { recent.keep(input, made) }  // a long user agent is not worth the memory
        return made
    }
}
