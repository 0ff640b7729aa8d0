import CairnProtocol
import CairnModel
import CairnSigning
import Foundation
import HTTPTypes
import Hummingbird

/// Reads credentials from a request: HTTP basic with a password or a personal access token
/// (as git sends them), or `Authorization: token …` / `Bearer …` (as API clients do, and
/// git-lfs with the credential `cairn-sshd` handed out).
struct Authenticator: Sendable {
    let users: UserStore
    let tokens: TokenStore
    let repositoryTokens: RepositoryTokenStore
    /// Checks the LFS credentials `cairn-sshd` signs.
    let signer: Signer
    /// Keeps callers who just wrote on the primary, when the gateway reads from replicas.
    var readYourWrites: ReadYourWrites? = nil
    /// Limits password attempts over HTTP basic as on the sign-in form.
    var limiter: SignInLimiter? = nil

    /// The caller; anonymous without credentials. Wrong credentials throw 401.
    func authenticate(_ request: Request) async throws -> Caller {
        let caller = try await credentials(request)
        if let user = caller.user {
            if user.isAdmin { RequestTimings.current?.reveal() }
            await readYourWrites?.identify(user.id)
        }
        return caller
    }

    private func credentials(_ request: Request) async throws -> Caller {
        guard let header = request.headers[.authorization] else { return .anonymous }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { throw GatewayError.badCredentials }
        let scheme = parts[0].lowercased()
        let value = String(parts[1]).trimmingCharacters(in: .whitespaces)
        switch scheme {
        case "token", "bearer":
            return try await token(value, path: request.uri.path)
        case "basic":
            guard let decoded = Data(base64Encoded: value).map({ String(decoding: $0, as: UTF8.self) }),
                  let colon = decoded.firstIndex(of: ":")
            else { throw GatewayError.badCredentials }
            let login = String(decoded[..<colon])
            let secret = String(decoded[decoded.index(after: colon)...])
            if secret.hasPrefix(TokenStore.prefix) { return try await token(secret, path: request.uri.path) }  // repository tokens too
            guard !login.isEmpty else { throw GatewayError.badCredentials }
            let address = ClientAddress.current ?? "unknown"
            try await limiter?.attempt(address: address, login: login)
            guard let user = try await users.authenticate(login: login, password: secret) else { throw GatewayError.badCredentials }
            await limiter?.succeeded(address: address, login: login)
            return Caller(user: user, scopes: nil)
        default:
            throw GatewayError.badCredentials
        }
    }

    private func token(_ secret: String, path: String) async throws -> Caller {
        if secret.hasPrefix(LFSCredential.prefix) {
            // Good for the LFS API alone: not for pushing over HTTP, the REST API or pages.
            guard Self.isLFSAPI(path) else { throw GatewayError.forbidden("This LFS credential is good for the LFS API only") }
            guard let credential = LFSCredential(secret: secret, signer: signer), let person = try await users.find(id: credential.actingFor) else {
                throw GatewayError.badCredentials
            }
            return Caller(user: nil, scopes: nil, grant: RepositoryGrant(repositoryID: credential.repository, permission: credential.write ? .write : .read, actingFor: person))
        }
        if secret.hasPrefix(RepositoryTokenStore.prefix) {
            guard let (token, maker) = try await repositoryTokens.authenticate(secret: secret) else { throw GatewayError.badCredentials }
            return Caller(user: nil, scopes: nil, grant: RepositoryGrant(repositoryID: token.repositoryID, permission: token.permission, actingFor: maker))
        }
        guard let (user, scopes) = try await tokens.authenticate(secret: secret) else { throw GatewayError.badCredentials }
        return Caller(user: user, scopes: scopes)
    }

    /// `/<owner>/<repo>/info/lfs/objects/…` and `…/info/lfs/locks[/…]`: the LFS API's routes,
    /// and nothing else.
    static func isLFSAPI(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 6, parts.count <= 7, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty, parts[3] == "info", parts[4] == "lfs" else { return false }
        return (parts[5] == "objects" && parts.count == 7) || parts[5] == "locks"
    }
}
