public import Logging
public import PostgresNIO

/// Which Git LFS objects each repository has: recorded when an upload is verified, looked up
/// before a download is allowed. The objects' bodies are blobs named by their `oid`.
public struct LFSObjectStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Records that `repositoryID` has object `oid` of `size` bytes.
    public func record(repositoryID: Int64, oid: String, size: Int64) async throws {
        try await client.query(
            "INSERT INTO lfs_objects (repository_id, oid, size) VALUES (\(repositoryID), \(oid), \(size)) ON CONFLICT DO NOTHING",
            logger: logger)
    }

    /// The sizes of those of `oids` that `repositoryID` has, by oid.
    public func sizes(repositoryID: Int64, oids: [String]) async throws -> [String: Int64] {
        var found: [String: Int64] = [:]
        let rows = try await client.query("SELECT oid, size FROM lfs_objects WHERE repository_id = \(repositoryID) AND oid = ANY(\(oids))", logger: logger)
        for try await (oid, size) in rows.decode((String, Int64).self) { found[oid] = size }
        return found
    }
}
