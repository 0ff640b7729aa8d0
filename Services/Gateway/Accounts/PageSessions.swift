import CairnProtocol
import CairnModel
import CairnSigning
import Foundation
import Hummingbird
import Synchronization

/// Who is looking at a page: the signed-in user (or nobody), the session's random nonce and
/// the CSRF token bound to it, and the cookie to set when the session is new.
struct Visitor: Sendable {
    let user: User?
    let nonce: String
    let csrfToken: String
    /// Set on the response when the visitor had no valid session cookie.
    let newCookie: Cookie?
}

/// A counter shared by copies of `PageSessions`.
final class ForgetCount: Sendable {
    private let count = Atomic<Int>(0)

    var value: Int { count.load(ordering: .acquiring) }
    func increment() { count.wrappingAdd(1, ordering: .releasing) }
}

/// Signed session cookies (HttpOnly, SameSite=Lax, Secure over TLS). The cookie holds the
/// user id, the user's session version when it was made, and a random nonce; reading one
/// costs an HMAC and loading the user, and a password change or "sign out everywhere"
/// (which bump the version) retires every older cookie; signing out retires that one session
/// on the server, so a copy of its cookie stops working too.
struct PageSessions: Sendable {
    let signer: Signer
    let users: UserStore
    let secure: Bool
    /// Keeps visitors who just wrote on the primary, when the gateway reads from replicas.
    var readYourWrites: ReadYourWrites? = nil
    /// Cookies verified in the last minute and the CSRF tokens of their sessions: a page view
    /// need not decode and verify the same cookie again. (Whether the session was retired
    /// is still asked of the database on each view.)
    private let verified = RecentValues<String, Payload>(lifetime: .seconds(60))
    private let csrfTokens = RecentValues<String, String>(lifetime: .seconds(60))
    /// The users of sessions that viewed a page (GET or HEAD) in the last `userLifetime`, by
    /// user id and nonce, so that a signed-in page view asks the database at most once a
    /// second per session. Signing out, a password change and "sign out everywhere" through
    /// this gateway drop them at once (`forget`); through another gateway (or an operator's
    /// `cairnctl`) they take effect within that second. Forms (POST) always ask the database.
    private let recentUsers = RecentValues<String, User>(lifetime: userLifetime, limit: 20_000)
    static let userLifetime: Duration = .seconds(1)
    /// Counts `forget` calls, so a read that raced one is not kept.
    private let forgotten = ForgetCount()

    static let cookieName = "cairn_session"
    static let sessionSalt = "cairn.session"
    static let csrfSalt = "cairn.csrf"
    static let lifetime: Duration = .seconds(30 * 24 * 3600)

    private struct Payload: Codable, Sendable {
        var user: Int64?
        var version: Int?
        var nonce: String
    }

    /// The visitor of `request`. Without a valid cookie (missing, tampered, expired or
    /// retired) the visitor is anonymous and has no session yet: `withSession` makes one for
    /// pages with forms, so plain page views cost no signing and set no cookie.
    func visitor(_ request: Request) async throws -> Visitor {
        if let value = request.cookies[Self.cookieName]?.value,
           let payload = verified.value(value, make: { try? signer.unsign(value, as: Payload.self, salt: Self.sessionSalt, maxAge: Self.lifetime) }) {
            guard let id = payload.user else { return Visitor(user: nil, nonce: payload.nonce, csrfToken: csrfToken(payload.nonce), newCookie: nil) }
            let key = "\(id):\(payload.nonce)"
            let reads = request.method == .get || request.method == .head
            var user = reads ? recentUsers.kept(key) : nil
            if user == nil {
                let before = forgotten.value
                user = try await users.find(id: id, session: payload.nonce)
                // Not kept if a session ended meanwhile: the row read may be from before it.
                if reads, let user, forgotten.value == before { recentUsers.keep(key, user) }
            }
            if let user, user.sessionVersion == payload.version {
                // Site admins see where the time of their pages went (`Server-Timing`).
                if user.isAdmin { RequestTimings.current?.reveal() }
                await readYourWrites?.identify(user.id)
                return Visitor(user: user, nonce: payload.nonce, csrfToken: csrfToken(payload.nonce), newCookie: nil)
            }
        }
        return Visitor(user: nil, nonce: "", csrfToken: "", newCookie: nil)
    }

    /// Drops what `visitor` keeps of `userID`'s sessions, after a change to the user or to
    /// their sessions.
    func forget(userID: Int64) {
        forgotten.increment()
        recentUsers.remove { $0.id == userID }
    }

    /// `visitor`, with a new anonymous session when there is none (a page with a form).
    func withSession(_ visitor: Visitor) throws -> Visitor {
        visitor.nonce.isEmpty ? try anonymous() : visitor
    }

    /// A new anonymous session (after sign-out, or for a first visit).
    func anonymous() throws -> Visitor {
        let nonce = Self.randomNonce()
        return Visitor(user: nil, nonce: nonce, csrfToken: csrfToken(nonce), newCookie: try cookie(Payload(user: nil, version: nil, nonce: nonce)))
    }

    /// A session for `user` with a fresh nonce, so a session fixed before sign-in is useless.
    func signedIn(_ user: User) throws -> Visitor {
        let nonce = Self.randomNonce()
        return Visitor(user: user, nonce: nonce, csrfToken: csrfToken(nonce), newCookie: try cookie(Payload(user: user.id, version: user.sessionVersion, nonce: nonce)))
    }

    /// Whether `token` is a CSRF token this visitor's session issued.
    func isValidCSRF(_ token: String?, for visitor: Visitor) -> Bool {
        guard let token, !visitor.nonce.isEmpty,
              let nonce = try? signer.unsign(token, as: String.self, salt: Self.csrfSalt, maxAge: Self.lifetime)
        else { return false }
        return nonce == visitor.nonce
    }

    private func csrfToken(_ nonce: String) -> String {
        csrfTokens.value(nonce) { try? signer.sign(nonce, salt: Self.csrfSalt) } ?? ""
    }

    private func cookie(_ payload: Payload) throws -> Cookie {
        Cookie(
            name: Self.cookieName, value: try signer.sign(payload, salt: Self.sessionSalt),
            maxAge: Int(Self.lifetime.components.seconds), path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    private static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Base64URL.encode(Data(bytes))
    }
}
