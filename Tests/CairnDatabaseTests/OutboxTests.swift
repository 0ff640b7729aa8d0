import CairnDatabase
import CairnProtocol
import CairnRedis
import CairnTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite(.timeLimit(.minutes(5))) struct OutboxTests {
    struct Rollback: Error {}

    /// Every task id that reached the queue, in order.
    func queuedIDs(_ queue: ReliableQueue) async throws -> [String] {
        try await queue.redis.send("LRANGE", queue.keys.ready, "0", "-1").array.reversed().compactMap { value in
            guard case .bulk(let bytes) = value else { return nil }
            return try CairnJSON.decode(TaskEnvelope.self, from: Data(bytes)).id
        }
    }

    /// Commits outbox rows for `push` tasks with `ids` and sends nothing, as a process that
    /// died right after its commit would leave them.
    func commitWithoutSending(_ client: PostgresClient, ids: [String]) async throws {
        try await client.withTransaction(logger: TestEnvironment.logger) { connection in
            for id in ids {
                let payload = String(decoding: try CairnJSON.encode(TaskEnvelope(kind: "push", id: id)), as: UTF8.self)
                _ = try await connection.query("INSERT INTO task_outbox (id, queue, payload) VALUES (\(UUID()), 'default', \(payload))", logger: TestEnvironment.logger)
            }
        }
    }

    @Test func test_rolledBackTransactionNeverSends() async throws {
        try await withTestDatabase { client, _ in
            try await withTestRedis { redis, namespace in
                let outbox = Outbox(client: client, redis: redis, namespace: namespace, logger: TestEnvironment.logger)
                let queue = ReliableQueue(redis: redis, name: "default", namespace: namespace)
                await #expect(throws: Rollback.self) {
                    try await outbox.transaction { transaction in
                        try await transaction.enqueue(TaskEnvelope(kind: "push", id: "never"), queue: "default")
                        throw Rollback()
                    }
                }
                try await outbox.relay(minimumAge: .zero)
                #expect(try await queuedIDs(queue) == [])
                #expect(try await outbox.backlog() == 0)
            }
        }
    }

    @Test func test_committedTaskArrivesExactlyOnce() async throws {
        try await withTestDatabase { client, _ in
            try await withTestRedis { redis, namespace in
                let outbox = Outbox(client: client, redis: redis, namespace: namespace, logger: TestEnvironment.logger)
                let queue = ReliableQueue(redis: redis, name: "webhooks", namespace: namespace)
                try await outbox.transaction { transaction in
                    _ = try await transaction.connection.query("CREATE TABLE things (id int)", logger: TestEnvironment.logger)
                    try await transaction.enqueue(TaskEnvelope(kind: "webhook.deliver", id: "once"), queue: "webhooks")
                }
                #expect(try await queuedIDs(queue) == ["once"])
                #expect(try await outbox.backlog() == 0)
                #expect(try await outbox.relay(minimumAge: .zero) == 0)
                #expect(try await queuedIDs(queue) == ["once"])
            }
        }
    }

    @Test func test_relaySendsWhatACrashLeftBetweenCommitAndPush() async throws {
        try await withTestDatabase { client, _ in
            try await withTestRedis { redis, namespace in
                let logger = TestEnvironment.logger
                // A process that commits and dies before pushing: the rows are committed, nothing is sent.
                try await commitWithoutSending(client, ids: (0..<3).map { "left-\($0)" })
                let outbox = Outbox(client: client, redis: redis, namespace: namespace, logger: logger)
                let queue = ReliableQueue(redis: redis, name: "default", namespace: namespace)
                #expect(try await outbox.backlog() == 3)
                let relay = OutboxRelay(outbox: outbox, interval: .milliseconds(500))
                let delivered = try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask { try await relay.run(); return false }
                    group.addTask { try await eventually(timeout: .seconds(15)) { try await queuedIDs(queue).count == 3 } }
                    let result = try await group.next()!
                    group.cancelAll()
                    return result
                }
                #expect(delivered)
                #expect(Set(try await queuedIDs(queue)) == ["left-0", "left-1", "left-2"])
                // The relay deletes the rows in the transaction that sent them, which may commit
                // a moment after Redis has them.
                #expect(try await eventually(timeout: .seconds(10)) { try await outbox.backlog() == 0 })
            }
        }
    }

    @Test func test_twoRelaysAtOnceNeverDoubleSend() async throws {
        try await withTestDatabase { client, _ in
            try await withTestRedis { redis, namespace in
                let logger = TestEnvironment.logger
                try await commitWithoutSending(client, ids: (0..<300).map { "task-\($0)" })
                let outbox = Outbox(client: client, redis: redis, namespace: namespace, logger: logger)
                let sent = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            var total = 0
                            while true {
                                let sent = try await outbox.relay(minimumAge: .zero, limit: 25)
                                if sent == 0 { return total }
                                total += sent
                            }
                        }
                    }
                    return try await group.reduce(0, +)
                }
                let ids = try await queuedIDs(ReliableQueue(redis: redis, name: "default", namespace: namespace))
                #expect(sent == 300)
                #expect(ids.count == 300)
                #expect(Set(ids).count == 300)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct OutboxCleanerTests {
    @Test func test_withACleanerTheTaskIsPushedAtOnceAndItsRowDeletedSoonAfter() async throws {
        try await withTestDatabase { client, _ in
            try await withTestRedis { redis, namespace in
                let cleaner = OutboxCleaner(client: client, logger: TestEnvironment.logger)
                let outbox = Outbox(client: client, redis: redis, namespace: namespace, cleaner: cleaner, logger: TestEnvironment.logger)
                let queue = ReliableQueue(redis: redis, name: "default", namespace: namespace)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await cleaner.run() }
                    try await outbox.transaction { transaction in
                        try await transaction.enqueue(TaskEnvelope(kind: "push", id: "cleaned"), queue: "default")
                    }
                    #expect(try await queue.readyCount() == 1)
                    #expect(try await eventually(timeout: .seconds(2)) { try await outbox.backlog() == 0 })
                    #expect(try await outbox.relay(minimumAge: .zero) == 0)
                    #expect(try await queue.readyCount() == 1)
                    group.cancelAll()
                }
            }
        }
    }
}
