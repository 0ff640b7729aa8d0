import CairnProtocol
public import CairnRedis
import CairnService
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle

/// Consumes one queue with a fixed number of concurrent consumers, handing each task to the
/// handler for its kind. On graceful shutdown it stops taking and lets running tasks finish;
/// a task still running when the grace period ends is cancelled and handed back untried.
/// A task is done once: its id is remembered for a day after success, and a redelivered
/// one is acknowledged without running again. (Public for the queue benchmark.)
public struct TaskRunner: Service {
    let queue: ReliableQueue
    let handlers: [String: any TaskHandler]
    let concurrency: Int
    let heartbeatTTL: Duration
    let logger: Logger
    /// Tasks one consumer takes at a time from a deep queue.
    static let takeLimit = 8

    public init(queue: ReliableQueue, handlers: [any TaskHandler], concurrency: Int, heartbeatTTL: Duration = .seconds(30), logger: Logger) {
        self.queue = queue
        self.handlers = Dictionary(handlers.map { ($0.kind, $0) }, uniquingKeysWith: { first, _ in first })
        self.concurrency = concurrency
        self.heartbeatTTL = heartbeatTTL
        self.logger = logger
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for index in 0..<concurrency {
                group.addTask { await consume(QueueConsumer(id: "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(queue.keys.queue)-\(index)", heartbeatTTL: heartbeatTTL)) }
            }
        }
    }

    /// Runs one consumer, its heartbeat renewed in the background for as long as it lives
    /// (so a long task keeps it alive, without a timer per task).
    private func consume(_ consumer: QueueConsumer) async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: consumer.heartbeatTTL / 3)
                    try? await consumer.heartbeat(queue)
                }
            }
            await takeAndProcess(consumer)
            group.cancelAll()
        }
    }

    private func takeAndProcess(_ consumer: QueueConsumer) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                // Only the wait for work is cancelled by shutdown; a taken task runs to its end.
                // When the queue is deep, a few tasks are taken at once (one round trip); when it
                // is shallow this is one task, so the other consumers still share the work.
                let batch = try await cancelWhenGracefulShutdown {
                    try await queue.take(consumer: consumer, timeout: .seconds(1), limit: Self.takeLimit)
                }
                guard !batch.isEmpty else { continue }
                // Which of them finished before (a redelivery), in one round trip for the batch.
                let done = try await queue.redis.send(["MGET"] + batch.map { doneKey($0.task) }).array.map { $0.string != nil }
                for (index, received) in batch.enumerated() {
                    guard !Task.isShuttingDownGracefully && !Task.isCancelled else {
                        for untried in batch[index...] { try? await queue.release(untried) }  // not started: back to the queue
                        return
                    }
                    if index < done.count, done[index] {
                        try? await queue.ack(received)
                        continue
                    }
                    await process(received, consumer: consumer)
                }
            } catch is CancellationError {
                return
            } catch where Task.isCancelled || Task.isShuttingDownGracefully {
                return  // the stores are closing under us
            } catch {
                logger.error("task.take_failed", metadata: ["queue.name": "\(queue.keys.queue)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func process(_ received: ReceivedTask, consumer: QueueConsumer) async {
        let task = received.task
        let metadata: Logger.Metadata = ["task.id": "\(task.id)", "task.kind": "\(task.kind)", "task.attempt": "\(task.attempt)"]
        let metrics = TaskMetrics(kind: task.kind)
        guard let handler = handlers[task.kind] else {
            await recordOutcome("dead-letter", metadata) { try await queue.deadLetter(received, reason: "unknown task kind \(task.kind)") }
            metrics.deadLettered.increment()
            logger.error("task.unknown_kind", metadata: metadata)
            return
        }
        metrics.taken.increment()
        let started = ContinuousClock.now
        do {
            try await withTimeLimit(handler.timeLimit, "task \(task.kind)") { try await handler.handle(task) }
        } catch let error as MalformedTask {
            await recordOutcome("dead-letter", metadata) { try await queue.deadLetter(received, reason: error.description) }
            metrics.deadLettered.increment()
            logger.error("task.malformed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            return
        } catch where Task.isCancelled {
            // Stopped past the grace period: hand the task back untried for the next worker.
            try? await queue.release(received)
            logger.warning("task.released", metadata: metadata)
            return
        } catch {
            metrics.failed.increment()
            let outcome = await recordOutcome("failure", metadata) { try await queue.fail(received, reason: String(describing: error)) }
            switch outcome {
            case .retryScheduled: metrics.retried.increment()
            case .deadLettered: metrics.deadLettered.increment()
            case nil: break
            }
            logger.warning("task.failed", metadata: metadata.merging(["error": "\(error)", "task.outcome": "\(outcome.map { "\($0)" } ?? "left to the reaper")"]) { $1 })
            return
        }
        await recordOutcome("completion", metadata) { try await queue.complete(received, doneKey: doneKey(task), remember: .seconds(86400)) }
        metrics.duration.recordNanoseconds(Int64((ContinuousClock.now - started).wholeMilliseconds) * 1_000_000)
        metrics.succeeded.increment()
        logger.debug("task.done", metadata: metadata)
    }

    /// Runs `step`, which records how a task ended, until Redis takes it. Left unrecorded,
    /// the task would sit in this consumer's processing list, which the reaper leaves alone
    /// while the consumer lives: lost. Gives up only when the worker stops, whose processing
    /// lists the reaper then hands back. Nil when it gave up.
    @discardableResult
    private func recordOutcome<Result: Sendable>(_ what: String, _ metadata: Logger.Metadata, _ step: () async throws -> Result) async -> Result? {
        var delay: Duration = .milliseconds(200)
        var warned = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let result = try await step()
                if warned { logger.info("task.outcome_recorded", metadata: metadata.merging(["task.outcome": "\(what)"]) { $1 }) }
                return result
            } catch {
                if !warned {
                    logger.warning("task.outcome_waiting", metadata: metadata.merging(["task.outcome": "\(what)", "error": "\(error)"]) { $1 })
                    warned = true
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
        return nil
    }

    /// Present for a day once task `task` succeeded.
    private func doneKey(_ task: TaskEnvelope) -> String { "\(queue.keys.namespace):done:\(task.id)" }
}

/// The metrics of one task kind.
struct TaskMetrics {
    let taken, succeeded, failed, retried, deadLettered: Counter
    let duration: Timer

    init(kind: String) {
        let dimensions = [("kind", kind)]
        taken = Counter(label: "cairn_tasks_taken_total", dimensions: dimensions)
        succeeded = Counter(label: "cairn_tasks_succeeded_total", dimensions: dimensions)
        failed = Counter(label: "cairn_tasks_failed_total", dimensions: dimensions)
        retried = Counter(label: "cairn_tasks_retried_total", dimensions: dimensions)
        deadLettered = Counter(label: "cairn_tasks_dead_lettered_total", dimensions: dimensions)
        duration = Timer(label: "cairn_task_duration_seconds", dimensions: dimensions)
    }
}
