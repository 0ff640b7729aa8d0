import CairnDatabase
public import Foundation
public import Logging
public import PostgresNIO

/// An SSH key: a person's (`userID`), or a deploy key of one repository (`repositoryID`).
public struct SSHKey: Sendable, Hashable {
    public let id: Int64
    public let userID: Int64?
    public let repositoryID: Int64?
    public let title: String
    /// `type base64`, as OpenSSH writes it, without the comment.
    public let publicKey: String
    public let fingerprint: String
    /// Deploy keys only: whether it may clone but not push.
    public let readOnly: Bool
    public let addedBy: Int64?
    public let createdAt: Date
    public let lastUsedAt: Date?
}

/// SSH keys in the main database. A key (by its SHA-256 fingerprint) belongs to one person or
/// one repository: adding it a second time anywhere is refused.
public struct SSHKeyStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// The most keys one person or one repository may have.
    public static let maxPerOwner = 100

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Whose key it is: a person's, or a repository's deploy key.
    public enum Owner: Sendable, Hashable {
        case user(Int64)
        case repository(Int64)

        var column: String {
            switch self {
            case .user: "user_id"
            case .repository: "repository_id"
            }
        }

        var id: Int64 {
            switch self {
            case .user(let id), .repository(let id): id
            }
        }
    }

    private static let columns = "id, user_id, repository_id, title, public_key, fingerprint, read_only, added_by, created_at, last_used_at"

    /// A title made from what a key says of itself: its comment, or its kind, cut to fit.
    public static func defaultTitle(for key: SSHPublicKey) -> String {
        String((key.comment.isEmpty ? "\(key.kind) key" : key.comment).unicodeScalars.prefix(100))
    }

    /// Adds `key` for `owner`; refused (`ModelError`) when the title is bad, the key is in use
    /// anywhere, or the owner has `maxPerOwner` keys.
    public func add(_ key: SSHPublicKey, title: String, to owner: Owner, readOnly: Bool = false, addedBy: Int64) async throws -> SSHKey {
        let title = title.trimmingCharacters(in: .whitespacesAndNewlines)
        // Counted as PostgreSQL's length() counts: in code points.
        guard (1...100).contains(title.unicodeScalars.count), !title.contains("\0") else { throw ModelError.invalid(field: "title", reason: "must be 1 to 100 characters") }
        let (user, repository): (Int64?, Int64?) = switch owner {
        case .user(let id): (id, nil)
        case .repository(let id): (nil, id)
        }
        do {
            let made = try await client.withUnwrappedTransaction(logger: logger) { connection -> SSHKey? in
                // One writer per owner at a time, so racing additions cannot pass the limit.
                try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended(\(owner.column), \(owner.id)))", logger: logger).count()
                let rows = try await connection.run("""
                    INSERT INTO ssh_keys (user_id, repository_id, title, public_key, fingerprint, read_only, added_by)
                    SELECT \(user), \(repository), \(title), \(key.openSSH), \(key.fingerprint), \(readOnly), \(addedBy)
                    WHERE (SELECT count(*) FROM ssh_keys WHERE \(unescaped: owner.column) = \(owner.id)) < \(Self.maxPerOwner)
                    RETURNING \(unescaped: Self.columns)
                    """, logger: logger)
                for try await row in rows { return try Self.decode(row) }
                return nil
            }
            guard let made else { throw ModelError.invalid(field: "key", reason: "at most \(Self.maxPerOwner) keys; delete one first") }
            return made
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw ModelError.invalid(field: "key", reason: "key is already in use")
        }
    }

    /// The owner's keys, oldest first.
    public func list(_ owner: Owner) async throws -> [SSHKey] {
        try await Self.collect(client.run(
            "SELECT \(unescaped: Self.columns) FROM ssh_keys WHERE \(unescaped: owner.column) = \(owner.id) ORDER BY id", logger: logger))
    }

    /// The owner's key `id`.
    public func find(id: Int64, of owner: Owner) async throws -> SSHKey? {
        try await Self.collect(client.run(
            "SELECT \(unescaped: Self.columns) FROM ssh_keys WHERE id = \(id) AND \(unescaped: owner.column) = \(owner.id)", logger: logger)).first
    }

    /// The key with this fingerprint, whoever's it is (what an SSH server looks up).
    public func find(fingerprint: String) async throws -> SSHKey? {
        try await Self.collect(client.run("SELECT \(unescaped: Self.columns) FROM ssh_keys WHERE fingerprint = \(fingerprint)", logger: logger)).first
    }

    /// Deletes the owner's key `id`; false when there is none.
    public func delete(id: Int64, of owner: Owner) async throws -> Bool {
        try await client.run(
            "DELETE FROM ssh_keys WHERE id = \(id) AND \(unescaped: owner.column) = \(owner.id) RETURNING 1", logger: logger
        ).count() == 1
    }

    /// Records that key `id` was used now (kept to the minute).
    public func recordUse(id: Int64) async throws {
        try await client.run(
            "UPDATE ssh_keys SET last_used_at = now() WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
            logger: logger)
    }

    private static func collect(_ rows: PostgresRowSequence) async throws -> [SSHKey] {
        var keys: [SSHKey] = []
        for try await row in rows { keys.append(try decode(row)) }
        return keys
    }

    private static func decode(_ row: PostgresRow) throws -> SSHKey {
        let r = try row.decode((Int64, Int64?, Int64?, String, String, String, Bool, Int64?, Date, Date?).self)
        return SSHKey(
            id: r.0, userID: r.1, repositoryID: r.2, title: r.3, publicKey: r.4, fingerprint: r.5, readOnly: r.6, addedBy: r.7, createdAt: r.8,
            lastUsedAt: r.9)
    }
}
