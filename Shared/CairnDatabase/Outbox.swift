public import CairnProtocol
public import CairnRedis
public import Foundation
public import Logging
public import PostgresNIO

/// Transaction-deferred enqueueing: a task enqueued inside a database transaction is written
/// to `task_outbox` in that transaction and pushed to Redis only after the commit.
///
/// A rolled-back transaction sends nothing. After a commit the rows are sent at once; if the
/// process dies first, `relay` sends them later. Senders lock the rows they send
/// (`FOR UPDATE SKIP LOCKED`) and delete them in the same transaction, so two senders never
/// send one row twice; a crash between the Redis push and the delete can repeat a task,
/// which consumers absorb by task id (at least once, never lost).
public struct Outbox: Sendable {
    public let client: PostgresClient
    public let redis: RedisClient
    /// The Redis namespace of the queues (`cairn` in production).
    public let namespace: String
    public let logger: Logger

    public init(client: PostgresClient, redis: RedisClient, namespace: String = "cairn", logger: Logger) {
        self.client = client
        self.redis = redis
        self.namespace = namespace
        self.logger = logger
    }

    /// Runs `body` in a transaction; tasks it enqueues are sent once the transaction commits.
    public func transaction<Result: Sendable>(_ body: (OutboxTransaction) async throws -> Result) async throws -> Result {
        let (result, ids) = try await client.withUnwrappedTransaction(logger: logger) { connection in
            let transaction = OutboxTransaction(connection: connection, logger: logger)
            let result = try await body(transaction)
            return (result, transaction.enqueuedIDs)
        }
        if !ids.isEmpty {
            do {
                try await send(ids: ids)
            } catch {
                // Committed and safe in the outbox: the relay sends it.
                logger.warning("outbox.send_after_commit_failed", metadata: ["error": "\(error)", "outbox.count": "\(ids.count)"])
            }
        }
        return result
    }

    /// Sends the given rows if they are still there and no other sender holds them.
    @discardableResult
    public func send(ids: [UUID]) async throws -> Int {
        try await sendLocked("SELECT id, queue, payload FROM task_outbox WHERE id = ANY(\(ids)) FOR UPDATE SKIP LOCKED")
    }

    /// Sends rows older than `minimumAge` that no other sender holds: what a crash left.
    /// Returns how many it sent.
    @discardableResult
    public func relay(minimumAge: Duration = .milliseconds(500), limit: Int = 500) async throws -> Int {
        let seconds = Double(minimumAge.components.seconds) + Double(minimumAge.components.attoseconds) / 1e18
        return try await sendLocked("""
            SELECT id, queue, payload FROM task_outbox
            WHERE created_at < clock_timestamp() - make_interval(secs => \(seconds))
            ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """)
    }

    /// Rows waiting to be sent.
    public func backlog() async throws -> Int {
        for try await count in try await client.query("SELECT count(*)::int8 FROM task_outbox", logger: logger).decode(Int.self) {
            return count
        }
        return 0
    }

    private func sendLocked(_ select: PostgresQuery) async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            var byQueue: [String: [[UInt8]]] = [:]
            var ids: [UUID] = []
            for try await (id, queue, payload) in try await connection.query(select, logger: logger).decode((UUID, String, String).self) {
                byQueue[queue, default: []].append(Array(payload.utf8))
                ids.append(id)
            }
            guard !ids.isEmpty else { return 0 }
            for (queue, payloads) in byQueue {
                try await ReliableQueue(redis: redis, name: queue, namespace: namespace).enqueue(encoded: payloads)
            }
            _ = try await connection.query("DELETE FROM task_outbox WHERE id = ANY(\(ids))", logger: logger)
            return ids.count
        }
    }
}

/// The transaction an `Outbox` hands to its body: the connection to run queries on, and
/// `enqueue` for tasks that must happen only if the transaction commits.
public final class OutboxTransaction: @unchecked Sendable {
    // Used only inside the one transaction's body, by one task at a time.
    public let connection: PostgresConnection
    let logger: Logger
    private(set) var enqueuedIDs: [UUID] = []

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Records `task` for `queue`; it is sent after the commit, and never if the
    /// transaction rolls back.
    public func enqueue(_ task: TaskEnvelope, queue: String) async throws {
        let id = UUID()
        let payload = String(decoding: try CairnJSON.encode(task), as: UTF8.self)
        _ = try await connection.query("INSERT INTO task_outbox (id, queue, payload) VALUES (\(id), \(queue), \(payload))", logger: logger)
        enqueuedIDs.append(id)
    }
}
