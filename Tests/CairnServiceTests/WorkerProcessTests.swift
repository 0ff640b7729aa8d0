import AsyncHTTPClient
import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
import CairnTestSupport
import Foundation
import Glibc
import NIOCore
import PostgresNIO
import Testing

/// `cairn-worker` as a process: killed mid-delivery it delivers again after a restart and
/// loses nothing; stopped with SIGTERM it finishes what it runs; `cairnctl` shows and
/// requeues dead letters.
@Suite(.serialized, .timeLimit(.minutes(5))) struct WorkerProcessTests {
    static func makeStack(_ portBase: Int) throws -> LocalStack {
        try LocalStack(portBase: portBase, extra: [
            "worker": ["heartbeatSeconds": "3"],
            "webhooks": ["allowedNetworks": "127.0.0.0/8", "timeout": "30", "maxAttempts": "3"],
        ])
    }

    @Test func test_killedMidDeliveryDeliversAgainAfterRestart_andSIGTERMFinishesTheRunningDelivery() async throws {
        let stack = try Self.makeStack(18200)
        #expect(try await stack.run("cairnctl", ["migrate"]).status == 0)
        try await HookReceiver.with { receiver, base in
            try await withStores(stack) { hooks, enqueue in
                let held = try await enqueue(base + "/hold/3")
                var worker = try stack.start(.worker)
                #expect(await eventually(timeout: .seconds(20)) { await receiver.requests(path: "/hold/3").count == 1 }, "\(stack.log(.worker))")
                kill(worker.processIdentifier, SIGKILL)
                await exited(worker)
                #expect(try await hooks.delivery(held)?.status == .pending)

                worker = try stack.start(.worker)
                defer { if worker.isRunning { kill(worker.processIdentifier, SIGKILL) } }
                // The dead worker's heartbeat expires, the reaper hands its task back, and it runs again.
                #expect(await eventually(timeout: .seconds(30)) { (try? await hooks.delivery(held)?.status) == .ok }, "\(stack.log(.worker))")
                #expect(await receiver.requests(path: "/hold/3").count == 2)
                // Its metrics count the delivery (once the task has returned, a moment after the
                // delivery was recorded) and show the queues' depths.
                let lines = [#"cairn_tasks_taken_total{kind="webhook.deliver"} 1"#, #"cairn_tasks_succeeded_total{kind="webhook.deliver"} 1"#]
                _ = await eventually(timeout: .seconds(10)) {
                    let shown = (try? await Self.metrics(stack)) ?? ""
                    return lines.allSatisfy { shown.contains($0) }
                }
                let metrics = try await Self.metrics(stack)
                for line in lines {
                    #expect(metrics.contains(line), "\(line) missing from\n\(metrics)")
                }
                #expect(metrics.contains(#"cairn_task_duration_seconds_count{kind="webhook.deliver"}"#))
                let depth = #"cairn_queue_depth{queue="webhooks",state="ready"} 0"#
                #expect(await eventually(timeout: .seconds(20)) { (try? await Self.metrics(stack))?.contains(depth) == true }, "no \(depth)")

                // SIGTERM while a delivery is in flight: it completes, and the worker exits cleanly.
                let drained = try await enqueue(base + "/hold/2")
                #expect(await eventually(timeout: .seconds(20)) { await receiver.requests(path: "/hold/2").count == 1 })
                kill(worker.processIdentifier, SIGTERM)
                await exited(worker)
                #expect(worker.terminationStatus == 0, "\(stack.log(.worker))")
                #expect(try await hooks.delivery(drained)?.status == .ok)
                #expect(await receiver.requests(path: "/hold/2").count == 1)
            }
        }
    }

    @Test func test_cairnctlListsAndRequeuesDeadLetters() async throws {
        let stack = try Self.makeStack(18210)
        let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
        let queue = ReliableQueue(redis: redis, name: "webhooks", namespace: stack.json["redis"]!["namespace"]!)
        for id in ["first", "second"] {
            try await queue.enqueue(TaskEnvelope(kind: "mystery.kind", id: id))
            let taken = try #require(try await queue.take(consumer: QueueConsumer(), timeout: .seconds(1)))
            try await queue.deadLetter(taken, reason: "unknown task kind mystery.kind")
        }
        let listing = try await stack.run("cairnctl", ["queues"])
        #expect(listing.status == 0, "\(listing.output)")
        #expect(listing.output.contains("webhooks: 0 ready, 0 waiting for a retry, 2 dead"))
        #expect(listing.output.contains("first  mystery.kind"))
        #expect(listing.output.contains("unknown task kind mystery.kind"))

        let one = try await stack.run("cairnctl", ["requeue", "--queue", "webhooks", "--id", "first"])
        #expect(one.output.contains("requeued 1 task to webhooks"), "\(one.output)")
        #expect(try await queue.readyCount() == 1)
        #expect(try await queue.deadCount() == 1)
        let missing = try await stack.run("cairnctl", ["requeue", "--queue", "webhooks", "--id", "nope"])
        #expect(missing.status != 0 && missing.output.contains("no dead letter with task id nope"))
        let bad = try await stack.run("cairnctl", ["requeue", "--queue", "elsewhere", "--all"])
        #expect(bad.status != 0 && bad.output.contains("unknown queue elsewhere"))
        let rest = try await stack.run("cairnctl", ["requeue", "--queue", "webhooks", "--kind", "mystery.kind"])
        #expect(rest.output.contains("requeued 1 task to webhooks"))
        #expect(try await queue.readyCount() == 2)
        #expect(try await queue.deadCount() == 0)
        await redis.shutdown()
    }

    /// The worker's `/metrics` text.
    static func metrics(_ stack: LocalStack) async throws -> String {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(stack.port(.worker))/metrics"), timeout: .seconds(10))
        return String(buffer: try await response.body.collect(upTo: 4 << 20))
    }

    /// Runs `body` with the webhook store of the stack's database and a function that makes a
    /// user, repository and hook aimed at a URL and queues one delivery to it, returning its id.
    private func withStores(
        _ stack: LocalStack,
        _ body: @escaping @Sendable (WebhookStore, @escaping @Sendable (String) async throws -> Int64) async throws -> Void
    ) async throws {
        let logger = TestEnvironment.logger
        let client = PostgresClient(configuration: TestEnvironment.database(.main).client, backgroundLogger: logger)
        let redis = RedisClient(configuration: TestEnvironment.redis, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let hooks = WebhookStore(client: client, logger: logger)
            let outbox = Outbox(client: client, redis: redis, namespace: stack.json["redis"]!["namespace"]!, logger: logger)
            let name = TestEnvironment.uniqueName("w")
            let owner = try await UserStore(client: client, logger: logger).create(username: name, email: "\(name)@example.com", password: "password-\(name)")
            let repository = try await client.withTransaction(logger: logger) { connection in
                try await RepositoryStore(client: client, logger: logger).insert(owner: owner, name: "hooked", description: "", isPrivate: false, on: connection)
            }
            try await body(hooks) { url in
                let hook = try await hooks.create(repositoryID: repository.id, .init(url: url))
                return try await outbox.transaction { transaction in
                    try await hooks.enqueueDelivery(hookID: hook.id, guid: UUID(), event: "ping", payload: #"{"zen": "test"}"#, in: transaction)!
                }
            }
        }
        await redis.shutdown()
    }
}
