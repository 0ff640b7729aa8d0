@testable import CairnWorker
import CairnProtocol
import CairnRedis
import CairnTestSupport
import ServiceLifecycle
import Synchronization
import Testing

/// The worker's task runner on a real Redis: a task delivered twice runs once, failures are
/// retried, and requeued dead letters run again.
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
