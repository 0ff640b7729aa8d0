import CairnDatabase
public import Foundation
public import Logging
public import PostgresNIO

/// What a repository uses a blob for.
public enum BlobUse: String, Sendable, CaseIterable {
    /// A Git LFS object; its name is its oid (the blob's hash).
    case lfs
    /// A file on the repository's Downloads page; its name is the file name.
    case download
    /// A `git archive` of one commit; its name is `<commit>.<format>`, one per commit and
    /// format however the ref was spelled.
    case archive
}

/// One use of a blob by a repository.
public struct RepositoryBlob: Sendable, Equatable {
    public let repositoryID: Int64
    public let use: BlobUse
    public let name: String
    public let sha256: String
    public let size: Int64
    /// Who uploaded it (downloads), by username.
    public let uploader: String?
    public let downloadCount: Int64
    public let createdAt: Date
}

/// The reference table of the blob store: which repository uses which blob, and for what
/// (`repository_blobs`). A blob that no live repository uses is garbage, removed by
/// `cairnctl gc` once it is older than the grace period.
public struct RepositoryBlobStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Records that `repositoryID` uses blob `sha256` as `use` under `name`; false when that
    /// name is taken already (the existing row is kept).
    @discardableResult
    public func record(repositoryID: Int64, use: BlobUse, name: String, sha256: String, size: Int64, uploaderID: Int64? = nil) async throws -> Bool {
        let rows = try await client.run(
            """
            INSERT INTO repository_blobs (repository_id, kind, name, sha256, size, uploader_id)
            VALUES (\(repositoryID), \(use.rawValue), \(name), \(sha256), \(size), \(uploaderID))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        return try await rows.count() > 0
    }

    /// The blob `repositoryID` uses as `use` under `name`.
    public func find(repositoryID: Int64, use: BlobUse, name: String) async throws -> RepositoryBlob? {
        try await decode(client.run(
            "\(unescaped: Self.columns) WHERE b.repository_id = \(repositoryID) AND b.kind = \(use.rawValue) AND b.name = \(name)", logger: logger)).first
    }

    /// Everything `repositoryID` uses as `use`, newest first.
    public func list(repositoryID: Int64, use: BlobUse, limit: Int = 500) async throws -> [RepositoryBlob] {
        try await decode(client.run(
            "\(unescaped: Self.columns) WHERE b.repository_id = \(repositoryID) AND b.kind = \(use.rawValue) ORDER BY b.created_at DESC, b.name LIMIT \(limit)",
            logger: logger))
    }

    /// Drops one use; whether it existed. The blob itself goes with the next `cairnctl gc`.
    @discardableResult
    public func remove(repositoryID: Int64, use: BlobUse, name: String) async throws -> Bool {
        let rows = try await client.run(
            "DELETE FROM repository_blobs WHERE repository_id = \(repositoryID) AND kind = \(use.rawValue) AND name = \(name) RETURNING 1", logger: logger)
        return try await rows.count() > 0
    }

    /// Counts one download of a use, and notes when it was last used.
    public func countDownload(repositoryID: Int64, use: BlobUse, name: String) async throws {
        try await client.run(
            """
            UPDATE repository_blobs SET download_count = download_count + 1, last_used_at = now()
            WHERE repository_id = \(repositoryID) AND kind = \(use.rawValue) AND name = \(name)
            """, logger: logger)
    }

    /// Drops the archives last used (or, never used, recorded) before `cutoff`; how many.
    /// Their blobs go with the garbage collector; the next request builds them again.
    public func dropArchives(unusedSince cutoff: Date) async throws -> Int {
        try await client.run(
            "DELETE FROM repository_blobs WHERE kind = 'archive' AND coalesce(last_used_at, created_at) < \(cutoff) RETURNING 1", logger: logger).count()
    }

    /// How many archives were last used (or, never used, recorded) before `cutoff`.
    public func countArchives(unusedSince cutoff: Date) async throws -> Int {
        let rows = try await client.run(
            "SELECT count(*) FROM repository_blobs WHERE kind = 'archive' AND coalesce(last_used_at, created_at) < \(cutoff)", logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    /// The sizes of those of `names` that `repositoryID` uses as `use`, by name (LFS: which
    /// objects a repository has).
    public func sizes(repositoryID: Int64, use: BlobUse, names: [String]) async throws -> [String: Int64] {
        var found: [String: Int64] = [:]
        let rows = try await client.run(
            "SELECT name, size FROM repository_blobs WHERE repository_id = \(repositoryID) AND kind = \(use.rawValue) AND name = ANY(\(names))", logger: logger)
        for try await (name, size) in rows.decode((String, Int64).self) { found[name] = size }
        return found
    }

    /// Those of `hashes` that a repository not deleted uses, not counting archives unused
    /// since `archivesUnusedSince` (which `dropArchives` removes).
    public func referenced(among hashes: [String], archivesUnusedSince: Date? = nil) async throws -> Set<String> {
        var found: Set<String> = []
        let rows = try await client.run(
            """
            SELECT DISTINCT b.sha256 FROM repository_blobs b JOIN repositories r ON r.id = b.repository_id
            WHERE b.sha256 = ANY(\(hashes)) AND r.deleted_at IS NULL
            AND NOT (b.kind = 'archive' AND coalesce(b.last_used_at, b.created_at) < \(archivesUnusedSince ?? .distantPast))
            """, logger: logger)
        for try await hash in rows.decode(String.self) { found.insert(hash) }
        return found
    }

    private static let columns = """
        SELECT b.repository_id, b.kind, b.name, b.sha256, b.size, u.username, b.download_count, b.created_at
        FROM repository_blobs b LEFT JOIN users u ON u.id = b.uploader_id
        """

    private func decode(_ rows: PostgresRowSequence) async throws -> [RepositoryBlob] {
        var found: [RepositoryBlob] = []
        for try await (repository, kind, name, sha256, size, uploader, count, created) in rows.decode((Int64, String, String, String, Int64, String?, Int64, Date).self) {
            guard let use = BlobUse(rawValue: kind) else { continue }
            found.append(RepositoryBlob(
                repositoryID: repository, use: use, name: name, sha256: sha256, size: size, uploader: uploader, downloadCount: count, createdAt: created))
        }
        return found
    }
}
