@testable import CairnWorker
import CairnProtocol
import CairnRedis
import CairnTestSupport
import ServiceLifecycle
import Synchronization
import Testing

/// The worker's task runner on a real Redis: a task delivered twice runs once, failures are
/// retried, requeued dead letters run again, and a task whose end Redis could not take at
/// first (it was down) is neither lost nor run twice.
@Suite(.timeLimit(.minutes(5))) struct TaskRunnerTests {
    /// Counts the tasks it handles; fails those whose `fail` argument says so, the first times.
    final class Recorder: TaskHandler, @unchecked Sendable {
        let kind = "test.count"
        let timeLimit: Duration = .seconds(5)
        private let counts = Mutex<[String: Int]>([:])

        func handle(_ task: TaskEnvelope) async throws {
            let seen = counts.withLock { counts -> Int in
                counts[task.id, default: 0] += 1
                return counts[task.id]!
            }
            if let failures = task.args["fail"]?.numberValue, seen <= Int(failures) { throw MalformedTaskRetry() }
        }

        func count(_ id: String) -> Int { counts.withLock { $0[id] ?? 0 } }
    }

    struct MalformedTaskRetry: Error {}

    /// Kills Redis the first time it runs a task, brings it back a moment later, and then
    /// throws or returns as the task's `fail` argument says.
    final class RedisKiller: TaskHandler, @unchecked Sendable {
        let kind = "test.outage"
        let timeLimit: Duration = .seconds(20)
        let redis: PrivateRedis
        private let counts = Mutex<[String: Int]>([:])

        init(redis: PrivateRedis) { self.redis = redis }

        func handle(_ task: TaskEnvelope) async throws {
            let seen = counts.withLock { counts -> Int in
                counts[task.id, default: 0] += 1
                return counts[task.id]!
            }
            guard seen == 1 else { return }
            try await redis.kill()
            Task { [redis] in
                try await Task.sleep(for: .milliseconds(1500))
                try await redis.start()
            }
            if task.args["fail"] == .bool(true) { throw MalformedTaskRetry() }
        }

        func count(_ id: String) -> Int { counts.withLock { $0[id] ?? 0 } }
    }

    /// Takes longer than its time limit allows.
    struct Sleeper: TaskHandler {
        let kind = "test.sleep"
        let timeLimit: Duration = .milliseconds(200)
        let tries = Counter()
        func handle(_ task: TaskEnvelope) async throws {
            tries.add()
            try await Task.sleep(for: .seconds(30))
        }
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    @Test func test_aTaskOverItsTimeLimitIsCutOffRetriedAndDeadLetteredSayingWhy() async throws {
        try await withTestRedis { redis, namespace in
            let queue = ReliableQueue(redis: redis, name: "default", namespace: namespace, retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(50)))
            let sleeper = Sleeper()
            let runner = TaskRunner(queue: queue, handlers: [sleeper], concurrency: 1, logger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runner.run() }
                defer { group.cancelAll() }
                let started = ContinuousClock.now
                try await queue.enqueue(TaskEnvelope(kind: "test.sleep", id: "sleepy"))
                #expect(await eventually(timeout: .seconds(20)) { (try? await queue.deadCount()) == 1 })
                // Two tries of 0.2 s each, not two of 30 s.
                #expect(ContinuousClock.now - started < .seconds(15))
                #expect(sleeper.tries.value == 2)
                let dead = try #require(try await queue.deadLetters().first)
                #expect(dead.reason.contains("test.sleep") && dead.reason.contains("0.2 seconds"), "\(dead.reason)")
            }
        }
    }

    @Test(arguments: [true, false])
    func test_aTasksEndIsRecordedOnceRedisIsBack(failing: Bool) async throws {
        try await withPrivateRedis { server in
            let redis = RedisClient(configuration: try #require(RedisConfiguration(url: server.url)), logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            let namespace = TestEnvironment.uniqueName("outage")
            let queue = ReliableQueue(redis: redis, name: "default", namespace: namespace, retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(50)))
            let handler = RedisKiller(redis: server)
            let runner = TaskRunner(queue: queue, handlers: [handler], concurrency: 1, logger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runner.run() }
                defer { group.cancelAll() }
                try await queue.enqueue(TaskEnvelope(kind: "test.outage", args: .object(["fail": .bool(failing)]), id: "through-an-outage"))
                // A failure is retried once Redis is back; a success is recorded, not rerun.
                #expect(await eventually(timeout: .seconds(30)) {
                    (try? await redis.send("EXISTS", "\(namespace):done:through-an-outage").int) == 1
                })
                #expect(handler.count("through-an-outage") == (failing ? 2 : 1))
                let processing = try await redis.send("KEYS", "\(namespace):processing:*").array.compactMap(\.string)
                for key in processing { #expect(try await redis.send("LLEN", key).int == 0, "\(key) still holds a task") }
            }
        }
    }

    @Test func test_aTaskDeliveredTwiceRunsOnce_andFailuresAreRetried() async throws {
        try await withTestRedis { redis, namespace in
            let queue = ReliableQueue(redis: redis, name: "default", namespace: namespace, retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(50)))
            let recorder = Recorder()
            let runner = TaskRunner(queue: queue, handlers: [recorder], concurrency: 2, logger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runner.run() }
                defer { group.cancelAll() }
                try await queue.enqueue(TaskEnvelope(kind: "test.count", id: "once"))
                #expect(await eventually { recorder.count("once") == 1 })
                #expect(await eventually { (try? await redis.send("EXISTS", "\(namespace):done:once").int) == 1 })  // finished and acknowledged
                // The same task again (as after a crash between the work and the ack): acknowledged, not run.
                for _ in 0..<3 { try await queue.enqueue(TaskEnvelope(kind: "test.count", id: "once")) }
                #expect(await eventually { (try? await queue.readyCount()) == 0 })
                try await Task.sleep(for: .milliseconds(300))
                #expect(recorder.count("once") == 1)

                try await queue.enqueue(TaskEnvelope(kind: "test.count", args: .object(["fail": .number(2)]), id: "flaky"))
                #expect(await eventually(timeout: .seconds(30)) { recorder.count("flaky") == 3 })
                try await queue.enqueue(TaskEnvelope(kind: "test.count", args: .object(["fail": .number(5)]), id: "doomed"))
                #expect(await eventually(timeout: .seconds(30)) { (try? await queue.deadCount()) == 1 })
                #expect(recorder.count("doomed") == 3)
                #expect(try await queue.requeueDead(kind: "test.count") == 1)
                #expect(await eventually(timeout: .seconds(30)) { recorder.count("doomed") == 4 })
            }
        }
    }
}
