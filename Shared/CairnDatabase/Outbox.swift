public import CairnProtocol
public import CairnRedis
public import Foundation
public import Logging
public import PostgresNIO

/// Transaction-deferred enqueueing: a task enqueued inside a database transaction is written
/// to `task_outbox` in that transaction and pushed to Redis only after the commit.
///
/// A rolled-back transaction sends nothing. After a commit the tasks are pushed at once and
/// their rows deleted; if the process dies first, `relay` sends the rows later. The relay
/// takes only rows older than half a second and locks what it sends (`FOR UPDATE SKIP
/// LOCKED`, deleted in the same transaction), so two relays never send one row twice. A
/// committer stalled past that age, or a crash between a push and its delete, can repeat a
/// task, which consumers absorb by task id: at least once, never lost.
public struct Outbox: Sendable {
    public let client: PostgresClient
    public let redis: RedisClient
    /// The Redis namespace of the queues (`cairn` in production).
    public let namespace: String
    public let logger: Logger
    /// When given (and run as a service), deletes pushed rows off the caller's path.
    public let cleaner: OutboxCleaner?

    public init(client: PostgresClient, redis: RedisClient, namespace: String = "cairn", cleaner: OutboxCleaner? = nil, logger: Logger) {
        self.client = client
        self.redis = redis
        self.namespace = namespace
        self.cleaner = cleaner
        self.logger = logger
    }

    /// Runs `body` in a transaction; tasks it enqueues are sent once the transaction commits.
    public func transaction<Result: Sendable>(_ body: (OutboxTransaction) async throws -> Result) async throws -> Result {
        let (result, pending) = try await client.withUnwrappedTransaction(logger: logger) { connection in
            let transaction = OutboxTransaction(connection: connection, logger: logger)
            let result = try await body(transaction)
            return (result, transaction.pending)
        }
        if !pending.isEmpty { await sendCommitted(pending) }
        return result
    }

    /// Pushes what a committed transaction enqueued, then deletes its rows. Whatever fails
    /// here stays in the outbox for the relay.
    private func sendCommitted(_ pending: [PendingTask]) async {
        do {
            for (queue, tasks) in Dictionary(grouping: pending, by: \.queue) {
                try await ReliableQueue(redis: redis, name: queue, namespace: namespace).enqueue(encoded: tasks.map(\.payload))
            }
        } catch {
            logger.warning("outbox.push_after_commit_failed", metadata: ["error": "\(error)", "outbox.count": "\(pending.count)"])
            return
        }
        if let cleaner {
            cleaner.schedule(pending.map(\.id))
            return
        }
        do {
            _ = try await client.run("DELETE FROM task_outbox WHERE id = ANY(\(pending.map(\.id)))", logger: logger)
        } catch {
            logger.warning("outbox.delete_after_push_failed", metadata: ["error": "\(error)", "outbox.count": "\(pending.count)"])
        }
    }

    /// Sends rows older than `minimumAge` that no other sender holds: what a crash left.
    /// Returns how many it sent.
    @discardableResult
    public func relay(minimumAge: Duration = .milliseconds(500), limit: Int = 500) async throws -> Int {
        let seconds = minimumAge.seconds
        return try await sendLocked("""
            SELECT id, queue, payload FROM task_outbox
            WHERE created_at < clock_timestamp() - make_interval(secs => \(seconds))
            ORDER BY created_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """)
    }

    /// Rows waiting to be sent; with `olderThan`, only those written longer ago than that.
    public func backlog(olderThan age: Duration = .zero) async throws -> Int {
        let seconds = Double(age.components.seconds)
        for try await count in try await client.run(
            "SELECT count(*)::int8 FROM task_outbox WHERE created_at <= clock_timestamp() - \(seconds) * interval '1 second'", logger: logger
        ).decode(Int.self) {
            return count
        }
        return 0
    }

    private func sendLocked(_ select: PostgresQuery) async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            var byQueue: [String: [[UInt8]]] = [:]
            var ids: [UUID] = []
            for try await (id, queue, payload) in try await connection.run(select, logger: logger).decode((UUID, String, String).self) {
                byQueue[queue, default: []].append(Array(payload.utf8))
                ids.append(id)
            }
            guard !ids.isEmpty else { return 0 }
            for (queue, payloads) in byQueue {
                try await ReliableQueue(redis: redis, name: queue, namespace: namespace).enqueue(encoded: payloads)
            }
            _ = try await connection.run("DELETE FROM task_outbox WHERE id = ANY(\(ids))", logger: logger)
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
    private(set) var pending: [PendingTask] = []

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Records `task` for `queue`; it is sent after the commit, and never if the
    /// transaction rolls back.
    public func enqueue(_ task: TaskEnvelope, queue: String) async throws {
        try await enqueue([task], queue: queue)
    }

    /// Records several tasks for `queue` in one statement.
    public func enqueue(_ tasks: [TaskEnvelope], queue: String) async throws {
        guard !tasks.isEmpty else { return }
        let ids = tasks.map { _ in UUID() }
        let payloads = try tasks.map { Array(try CairnJSON.encode($0)) }
        let texts = payloads.map { String(decoding: $0, as: UTF8.self) }
        _ = try await connection.run("""
            INSERT INTO task_outbox (id, queue, payload) SELECT id, \(queue), payload FROM unnest(\(ids)::uuid[], \(texts)::text[]) AS t (id, payload)
            """, logger: logger)
        pending += zip(ids, payloads).map { PendingTask(id: $0, queue: queue, payload: $1) }
    }
}

/// A task written to the outbox by a transaction that has not yet committed.
struct PendingTask: Sendable {
    let id: UUID
    let queue: String
    let payload: [UInt8]
}
