import CairnDatabase
import CairnProtocol
import CairnSigning
public import Foundation
public import Logging
public import PostgresNIO

/// A repository token as listed (never its secret).
public struct RepositoryToken: Sendable, Hashable {
    public let id: Int64
    public let repositoryID: Int64
    public let name: String
    /// `.read` (clone, fetch, read the API) or `.write` (push, report statuses too).
    public let permission: Permission
    public let createdBy: Int64
    public let createdAt: Date
    public let lastUsedAt: Date?
}

/// Tokens for machines bound to one repository (GitLab's deploy tokens): shown once at
/// creation, stored as a SHA-256 hash like personal tokens, revoked by deletion from use.
/// A token acts for the admin who made it, and never beyond its repository or that admin's
/// own permission there.
public struct RepositoryTokenStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Every repository token starts with this (personal tokens with `TokenStore.prefix`).
    public static let prefix = "cairn_rt_"
    /// The most live tokens one repository may have.
    public static let maxPerRepository = 100

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private static let columns = "id, repository_id, name, permission, created_by, created_at, last_used_at"

    /// Creates a token; returns the secret (shown once) and its record.
    public func create(repositoryID: Int64, name: String, permission: Permission, createdBy: Int64) async throws -> (secret: String, token: RepositoryToken) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.unicodeScalars.count), !trimmed.contains("\0") else { throw ModelError.invalid(field: "name", reason: "must be 1 to 100 characters") }
        guard permission == .read || permission == .write else { throw ModelError.invalid(field: "permission", reason: "must be read or write") }
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let secret = Self.prefix + Base64URL.encode(Data(bytes))
        let level = permission == .write ? "write" : "read"
        // One maker per repository at a time, so racing creations cannot pass the limit.
        let made = try await client.withUnwrappedTransaction(logger: logger) { connection -> RepositoryToken? in
            try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended('repository_tokens', \(repositoryID)))", logger: logger).count()
            let rows = try await connection.run("""
            INSERT INTO repository_tokens (repository_id, name, token_hash, permission, created_by)
            SELECT \(repositoryID), \(trimmed), \(TokenStore.digest(secret)), \(level), \(createdBy)
            WHERE (SELECT count(*) FROM repository_tokens WHERE repository_id = \(repositoryID) AND revoked_at IS NULL) < \(Self.maxPerRepository)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
            for try await row in rows { return try Self.decode(row) }
            return nil
        }
        if let made { return (secret, made) }
        throw ModelError.invalid(field: "name", reason: "a repository may have at most \(Self.maxPerRepository) live tokens; revoke one first")
    }

    /// The live token of `secret` and the user it acts for, or nil; records the use (to the minute).
    public func authenticate(secret: String) async throws -> (RepositoryToken, User)? {
        guard secret.hasPrefix(Self.prefix), secret.count < 200 else { return nil }
        let rows = try await client.run("""
            SELECT \(unescaped: UserStore.columns("u")), t.id, t.repository_id, t.name, t.permission, t.created_by, t.created_at, t.last_used_at,
                   t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute'
            FROM repository_tokens t JOIN users u ON u.id = t.created_by
            WHERE t.token_hash = \(TokenStore.digest(secret)) AND t.revoked_at IS NULL
            """, logger: logger)
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let next = UserStore.columnCount
            let token = try Self.decode(cells, from: next)
            if try cells[next + 7].decode(Bool.self) {
                _ = try await client.run("UPDATE repository_tokens SET last_used_at = now() WHERE id = \(token.id)", logger: logger)
            }
            return (token, try UserStore.user(cells))
        }
        return nil
    }

    /// The repository's live tokens, newest first.
    public func list(repositoryID: Int64) async throws -> [RepositoryToken] {
        let rows = try await client.run("""
            SELECT \(unescaped: Self.columns) FROM repository_tokens WHERE repository_id = \(repositoryID) AND revoked_at IS NULL ORDER BY id DESC
            """, logger: logger)
        var tokens: [RepositoryToken] = []
        for try await row in rows { tokens.append(try Self.decode(row)) }
        return tokens
    }

    /// Revokes token `id` of the repository; false when there is no such live token.
    public func revoke(id: Int64, repositoryID: Int64) async throws -> Bool {
        try await client.run(
            "UPDATE repository_tokens SET revoked_at = now() WHERE id = \(id) AND repository_id = \(repositoryID) AND revoked_at IS NULL RETURNING 1",
            logger: logger
        ).count() == 1
    }

    private static func decode(_ row: PostgresRow) throws -> RepositoryToken { try decode(row.makeRandomAccess(), from: 0) }

    private static func decode(_ cells: PostgresRandomAccessRow, from first: Int) throws -> RepositoryToken {
        RepositoryToken(
            id: try cells[first].decode(Int64.self), repositoryID: try cells[first + 1].decode(Int64.self), name: try cells[first + 2].decode(String.self),
            permission: try cells[first + 3].decode(String.self) == "write" ? .write : .read, createdBy: try cells[first + 4].decode(Int64.self),
            createdAt: try cells[first + 5].decode(Date.self), lastUsedAt: try cells[first + 6].decode(Date?.self))
    }
}
