import CairnDatabase
import CairnProtocol
import CairnSigning
import Crypto
public import Foundation
public import Logging
public import PostgresNIO

/// A personal access token as listed (never its secret).
public struct AccessToken: Sendable, Hashable {
    public let id: Int64
    public let userID: Int64
    public let name: String
    public let scopes: Set<TokenScope>
    public let createdAt: Date
    public let lastUsedAt: Date?
    public let revokedAt: Date?
}

/// Personal access tokens: shown once at creation, stored as a SHA-256 hash (they are long
/// random secrets, so a fast hash is safe), found by that hash.
public struct TokenStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Every token starts with this, so leaked ones are easy to spot and scan for.
    public static let prefix = "cairn_"

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates a token; returns the secret (shown to the person once) and its record.
    public func create(userID: Int64, name: String, scopes: Set<TokenScope>) async throws -> (secret: String, token: AccessToken) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 100 else { throw ModelError.invalid(field: "name", reason: "must be 1 to 100 characters") }
        guard !scopes.isEmpty else { throw ModelError.invalid(field: "scopes", reason: "name at least one of repo:read, repo:write, admin") }
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let secret = Self.prefix + Base64URL.encode(Data(bytes))
        let scopeNames = scopes.sorted().map(\.rawValue)
        let rows = try await client.run("""
            INSERT INTO access_tokens (user_id, name, token_hash, scopes) VALUES (\(userID), \(trimmed), \(Self.digest(secret)), \(scopeNames))
            RETURNING id, created_at
            """, logger: logger)
        for try await (id, created) in rows.decode((Int64, Date).self) {
            return (secret, AccessToken(id: id, userID: userID, name: trimmed, scopes: scopes, createdAt: created, lastUsedAt: nil, revokedAt: nil))
        }
        throw ModelError.notFound("new token")
    }

    /// The user and scopes of a live token, or nil for an unknown or revoked one. Records the
    /// use (to the minute).
    public func authenticate(secret: String) async throws -> (User, Set<TokenScope>)? {
        guard secret.hasPrefix(Self.prefix), secret.count < 200 else { return nil }
        let rows = try await client.run("""
            SELECT \(unescaped: UserStore.columns("u")), t.scopes, t.id,
                   t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'
            FROM access_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = \(Self.digest(secret)) AND t.revoked_at IS NULL
            """, logger: logger)
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let next = UserStore.columnCount
            let (scopes, id, stale) = (try cells[next].decode([String].self), try cells[next + 1].decode(Int64.self), try cells[next + 2].decode(Bool.self))
            // The last-used time is kept to the minute, so most requests write nothing.
            if stale { _ = try await client.run("UPDATE access_tokens SET last_used_at = now() WHERE id = \(id)", logger: logger) }
            return (try UserStore.user(cells), Set(scopes.compactMap(TokenScope.init(rawValue:))))
        }
        return nil
    }

    /// Revokes token `id` of `userID`; false when there is no such live token.
    @discardableResult
    public func revoke(id: Int64, userID: Int64) async throws -> Bool {
        let rows = try await client.run("UPDATE access_tokens SET revoked_at = now() WHERE id = \(id) AND user_id = \(userID) AND revoked_at IS NULL RETURNING id", logger: logger)
        for try await _ in rows.decode(Int64.self) { return true }
        return false
    }

    /// A user's tokens, newest first.
    public func list(userID: Int64) async throws -> [AccessToken] {
        let rows = try await client.run("""
            SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM access_tokens WHERE user_id = \(userID) ORDER BY id DESC
            """, logger: logger)
        var tokens: [AccessToken] = []
        for try await (id, name, scopes, created, used, revoked) in rows.decode((Int64, String, [String], Date, Date?, Date?).self) {
            tokens.append(AccessToken(id: id, userID: userID, name: name, scopes: Set(scopes.compactMap(TokenScope.init(rawValue:))), createdAt: created, lastUsedAt: used, revokedAt: revoked))
        }
        return tokens
    }

    static func digest(_ secret: String) -> String { SHA256.hash(data: Data(secret.utf8)).hexString }
}
