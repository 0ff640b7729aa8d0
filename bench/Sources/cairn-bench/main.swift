import CairnDatabase
import CairnProtocol
import CairnRedis
import CairnSigning
import CairnWorker
import Foundation
import Logging
import PostgresNIO

// cairn-bench queue|task-runner|outbox|webhooks|stream-…: see bench/README.md. Reads CAIRN_BENCH_REDIS_URL and
// CAIRN_BENCH_DATABASE_URL; prints one result line per measurement.

nonisolated(unsafe) let logger: Logger = {
    var logger = Logger(label: "cairn-bench")
    logger.logLevel = .error
    return logger
}()
nonisolated(unsafe) let environment = ProcessInfo.processInfo.environment
nonisolated(unsafe) let arguments = CommandLine.arguments.dropFirst()

func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.endIndex else { return fallback }
    return Int(arguments[index + 1]) ?? fallback
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

/// Enqueue, take and ack `tasks` no-op tasks with `consumers` concurrent consumers.
func benchQueue() async throws {
    let tasks = option("tasks", 200_000)
    let consumers = option("consumers", 32)
    let batch = option("batch", 100)
    let takeLimit = option("take", 10)
    let redis = RedisClient(configuration: RedisConfiguration(url: environment["CAIRN_BENCH_REDIS_URL"]!, poolSize: consumers + 8)!, logger: logger)
    let queue = ReliableQueue(redis: redis, name: "bench", namespace: "bench-\(UUID().uuidString.prefix(8))")
    let payloads = (0..<tasks).map { Array(try! CairnJSON.encode(TaskEnvelope(kind: "noop", id: "t\($0)"))) }
    let started = ContinuousClock.now
    let done = try await withThrowingTaskGroup(of: Int.self) { group in
        group.addTask {
            var offset = 0
            while offset < tasks {
                try await queue.enqueue(encoded: Array(payloads[offset..<min(offset + batch, tasks)]))
                offset += batch
            }
            return 0
        }
        let counter = Counter()
        for index in 0..<consumers {
            group.addTask {
                let consumer = QueueConsumer(id: "bench-\(index)")
                var handled = 0
                while counter.value < tasks {
                    let received = try await queue.take(consumer: consumer, timeout: .milliseconds(200), limit: takeLimit)
                    guard !received.isEmpty else { continue }
                    try await queue.ack(received)
                    handled += received.count
                    counter.add(received.count)
                }
                return handled
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = ContinuousClock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(String(format: "queue: %d tasks (enqueue in batches of %d, take up to %d at a time, ack) with %d consumers in %.2f s: %.0f tasks/s", done, batch, takeLimit, consumers, seconds, Double(done) / seconds))
    _ = try await redis.send("DEL", queue.keys.ready, queue.keys.consumers)
    await redis.shutdown()
}

/// The same through the worker's own `TaskRunner` (done-keys, dispatch by kind, time limits,
/// heartbeats) with a handler that does nothing: what the queue machinery costs per task.
func benchTaskRunner() async throws {
    let tasks = option("tasks", 100_000)
    let consumers = option("consumers", 32)
    let redis = RedisClient(configuration: RedisConfiguration(url: environment["CAIRN_BENCH_REDIS_URL"]!, poolSize: consumers + 8)!, logger: logger)
    let queue = ReliableQueue(redis: redis, name: "bench", namespace: "bench-\(UUID().uuidString.prefix(8))")
    let handler = NoopHandler()
    let runner = TaskRunner(queue: queue, handlers: [handler], concurrency: consumers, logger: logger)
    for offset in stride(from: 0, to: tasks, by: 500) {
        try await queue.enqueue(encoded: (offset..<min(offset + 500, tasks)).map { Array(try! CairnJSON.encode(TaskEnvelope(kind: "noop", id: "r\($0)"))) })
    }
    let started = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await runner.run() }
        defer { group.cancelAll() }
        while handler.handled.value < tasks { try await Task.sleep(for: .milliseconds(5)) }
    }
    let seconds = milliseconds(ContinuousClock.now - started) / 1000
    // Every task ran once and was recorded done.
    let left = try await queue.readyCount()
    guard handler.handled.value == tasks, left == 0 else { throw BenchFailure("\(handler.handled.value) of \(tasks) tasks ran, \(left) left in the queue") }
    print(String(format: "queue through the worker's TaskRunner: %d no-op tasks (queued beforehand) run and recorded done by %d consumers in %.2f s: %.0f tasks/s",
                 tasks, consumers, seconds, Double(tasks) / seconds))
    _ = try await redis.send(["EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 0", "0", "\(queue.keys.namespace):*"])
    await redis.shutdown()
}

/// Counts the tasks it is handed and does nothing else.
struct NoopHandler: TaskHandler {
    let kind = "noop"
    let timeLimit: Duration = .seconds(10)
    let handled = Counter()
    func handle(_ task: TaskEnvelope) async throws { handled.add(1) }
}

/// The median commit time of a one-row transaction with and without one outbox enqueue.
func benchOutbox() async throws {
    let rounds = option("rounds", 2000)
    let database = DatabaseConfiguration(url: environment["CAIRN_BENCH_DATABASE_URL"]!, poolSize: 4)!
    let client = PostgresClient(configuration: database.client, backgroundLogger: logger)
    let redis = RedisClient(configuration: RedisConfiguration(url: environment["CAIRN_BENCH_REDIS_URL"]!, poolSize: 4)!, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        try await Migrator(client: client, schema: .main, logger: logger).migrate()
        _ = try await client.query("CREATE TABLE IF NOT EXISTS bench_items (id bigserial PRIMARY KEY, note text)", logger: logger)
        let namespace = "bench-\(UUID().uuidString.prefix(8))"
        let cleaner = OutboxCleaner(client: client, logger: logger)
        group.addTask { try await cleaner.run() }
        let outbox = Outbox(client: client, redis: redis, namespace: namespace, cleaner: cleaner, logger: logger)
        var plain: [Double] = []
        var withTask: [Double] = []
        for round in 0..<(rounds + 200) {
            let a = ContinuousClock.now
            try await outbox.transaction { transaction in
                _ = try await transaction.connection.query("INSERT INTO bench_items (note) VALUES ('plain')", logger: logger)
            }
            let b = ContinuousClock.now
            try await outbox.transaction { transaction in
                _ = try await transaction.connection.query("INSERT INTO bench_items (note) VALUES ('with task')", logger: logger)
                try await transaction.enqueue(TaskEnvelope(kind: "noop"), queue: "bench")
            }
            let c = ContinuousClock.now
            guard round >= 200 else { continue }  // warm-up
            plain.append(Double((b - a).components.attoseconds) / 1e15 + Double((b - a).components.seconds) * 1000)
            withTask.append(Double((c - b).components.attoseconds) / 1e15 + Double((c - b).components.seconds) * 1000)
        }
        print(String(format: "outbox: median transaction %.3f ms plain, %.3f ms with one enqueued task (sent to Redis after the commit): +%.3f ms over %d rounds",
                     median(plain), median(withTask), median(withTask) - median(plain), rounds))
        _ = try await client.query("DROP TABLE bench_items", logger: logger)
        _ = try await redis.send("DEL", "\(namespace):q:bench")
    }
    await redis.shutdown()
}

/// A shared count of handled tasks, so consumers know when to stop.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add(_ n: Int) { lock.withLock { count += n } }
}

switch arguments.first {
case "queue": try await benchQueue()
case "task-runner": try await benchTaskRunner()
case "outbox": try await benchOutbox()
case "webhooks": try await benchWebhooks()
case "blob-link":
    // Prints the path of a signed blob-store link: blob-link SHA256 METHOD.
    let signer = try Signer(key: environment["CAIRN_BENCH_SIGNING_KEY"]!)
    print(try BlobLink(blob: arguments.dropFirst().first!, method: arguments.dropFirst(2).first!, expires: Date().addingTimeInterval(3600)).path(signer: signer))
case "stream-fill": try await benchStreamFill()
case "stream-drain": try await benchStreamDrain()
case "stream-steady": try await benchStreamSteady()
default:
    print("usage: cairn-bench queue [--tasks N] [--consumers N] [--batch N] [--take N] | task-runner [--tasks N] [--consumers N] | outbox [--rounds N] | webhooks [--deliveries N] [--pushes N] | stream-fill|stream-drain [--events N] [--since MS] | stream-steady [--rate N] [--seconds N]")
    exit(64)
}
