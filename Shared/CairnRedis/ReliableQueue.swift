public import CairnProtocol
public import Foundation

/// A task queue in Redis that loses nothing when a consumer dies.
///
/// `take` moves a task atomically (`BLMOVE`) from the ready list into the consumer's own
/// processing list; `ack` removes it from there. A consumer that dies leaves its tasks in its
/// processing list, and once its heartbeat expires `reap` puts them back. A failed task waits
/// in a sorted set for its retry (exponential backoff with jitter), and after its last
/// attempt lands in the dead-letter list with the reason.
public struct ReliableQueue: Sendable {
    public let redis: RedisClient
    public let keys: QueueKeys
    public let retry: RetryPolicy

    public init(redis: RedisClient, name: String, namespace: String = "cairn", retry: RetryPolicy = RetryPolicy()) {
        self.redis = redis
        self.keys = QueueKeys(namespace: namespace, queue: name)
        self.retry = retry
    }

    /// Adds a task to the back of the queue.
    public func enqueue(_ task: TaskEnvelope) async throws {
        try await enqueue(encoded: [Array(try CairnJSON.encode(task))])
    }

    /// Adds already-encoded task envelopes (the outbox relay's case) in one round trip.
    public func enqueue(encoded payloads: [[UInt8]]) async throws {
        guard !payloads.isEmpty else { return }
        try await redis.send([Array("LPUSH".utf8), Array(keys.ready.utf8)] + payloads)
    }

    /// Schedules a task to become ready after `delay`.
    public func enqueue(_ task: TaskEnvelope, after delay: Duration) async throws {
        let due = Self.milliseconds(Date()) + delay.wholeMilliseconds
        try await redis.send([Array("ZADD".utf8), Array(keys.delayed.utf8), Array(String(due).utf8), Array(try CairnJSON.encode(task))])
    }

    /// Waits up to `timeout` for a task and moves it into `consumer`'s processing list.
    /// Returns nil when none came. A payload that is not a task envelope is dead-lettered.
    public func take(consumer: QueueConsumer, timeout: Duration) async throws -> ReceivedTask? {
        try await consumer.prepareIfDue(self)
        let seconds = String(format: "%.3f", timeout.seconds)
        let reply = try await redis.send(
            [Array("BLMOVE".utf8), Array(keys.ready.utf8), Array(keys.processing(consumer.id).utf8), Array("RIGHT".utf8), Array("LEFT".utf8), Array(seconds.utf8)],
            blocking: timeout)
        guard case .bulk(let raw) = reply else { return nil }
        do {
            let task = try CairnJSON.decode(TaskEnvelope.self, from: Data(raw))
            return ReceivedTask(task: task, raw: raw, consumer: consumer.id)
        } catch {
            let received = ReceivedTask(task: TaskEnvelope(kind: "malformed"), raw: raw, consumer: consumer.id)
            try await deadLetter(received, reason: "malformed task envelope: \(error)")
            return nil
        }
    }

    /// Takes up to `limit` tasks at once, waiting up to `timeout` only when none is ready.
    /// Busy consumers take in batches to spend fewer round trips per task.
    public func take(consumer: QueueConsumer, timeout: Duration, limit: Int) async throws -> [ReceivedTask] {
        try await consumer.prepareIfDue(self)
        let reply = try await redis.send(["EVAL", QueueScripts.takeBatch, "2", keys.ready, keys.processing(consumer.id), String(max(1, limit))])
        let raws: [[UInt8]] = reply.array.compactMap { if case .bulk(let bytes) = $0 { bytes } else { nil } }
        if raws.isEmpty {
            return try await take(consumer: consumer, timeout: timeout).map { [$0] } ?? []
        }
        var received: [ReceivedTask] = []
        for raw in raws {
            if let task = try? CairnJSON.decode(TaskEnvelope.self, from: Data(raw)) {
                received.append(ReceivedTask(task: task, raw: raw, consumer: consumer.id))
            } else {
                try await deadLetter(ReceivedTask(task: TaskEnvelope(kind: "malformed"), raw: raw, consumer: consumer.id), reason: "malformed task envelope")
            }
        }
        return received
    }

    /// Marks tasks of one consumer done in one round trip.
    public func ack(_ tasks: [ReceivedTask]) async throws {
        guard let consumer = tasks.first?.consumer else { return }
        precondition(tasks.allSatisfy { $0.consumer == consumer }, "ack a batch of one consumer's tasks")
        try await redis.send([Array("EVAL".utf8), Array(QueueScripts.ackBatch.utf8), Array("1".utf8), Array(keys.processing(consumer).utf8)] + tasks.map(\.raw))
    }

    /// Marks a task done and remembers its id under `doneKey` for `remember`, in one round
    /// trip, so that a redelivered copy can be recognised and skipped.
    public func complete(_ received: ReceivedTask, doneKey: String, remember: Duration) async throws {
        try await redis.send([
            Array("EVAL".utf8), Array(QueueScripts.complete.utf8), Array("2".utf8), Array(doneKey.utf8), Array(keys.processing(received.consumer).utf8),
            received.raw, Array(String(remember.components.seconds).utf8),
        ])
    }

    /// Marks a task done: it leaves the consumer's processing list for good.
    public func ack(_ received: ReceivedTask) async throws {
        try await redis.send([Array("LREM".utf8), Array(keys.processing(received.consumer).utf8), Array("1".utf8), received.raw])
    }

    /// Gives a task back without counting a try (a worker stopping before it could finish):
    /// it is the next one taken.
    public func release(_ received: ReceivedTask) async throws {
        try await redis.send([
            Array("EVAL".utf8), Array(QueueScripts.release.utf8), Array("2".utf8),
            Array(keys.processing(received.consumer).utf8), Array(keys.ready.utf8), received.raw,
        ])
    }

    /// Moves dead letters back to the queue as fresh tasks (attempt 0): all of them, or only
    /// those with task id `id` or of kind `kind`. Returns how many moved.
    @discardableResult
    public func requeueDead(id: String? = nil, kind: String? = nil) async throws -> Int {
        var moved = 0
        for value in try await redis.send("LRANGE", keys.dead, "0", "-1").array {
            guard case .bulk(let bytes) = value, let letter = try? CairnJSON.decode(DeadLetter.self, from: Data(bytes)) else { continue }
            if let id, letter.task.id != id { continue }
            if let kind, letter.task.kind != kind { continue }
            var task = letter.task
            task.attempt = 0
            let reply = try await redis.send([
                Array("EVAL".utf8), Array(QueueScripts.requeue.utf8), Array("2".utf8), Array(keys.dead.utf8), Array(keys.ready.utf8),
                bytes, Array(try CairnJSON.encode(task)),
            ])
            moved += reply.int ?? 0
        }
        return moved
    }

    /// Records a failed try: schedules the next attempt, or dead-letters the task after its last.
    @discardableResult
    public func fail(_ received: ReceivedTask, reason: String) async throws -> FailureOutcome {
        let attempts = received.task.attempt + 1
        guard attempts < retry.maxAttempts else {
            try await deadLetter(received, reason: reason)
            return .deadLettered
        }
        var next = received.task
        next.attempt = attempts
        let delay = retry.delay(afterAttempt: received.task.attempt)
        let due = Date().addingTimeInterval(delay.seconds)
        try await runFailScript(received, mode: "retry", payload: Array(try CairnJSON.encode(next)), due: Self.milliseconds(due))
        return .retryScheduled(at: due)
    }

    /// Moves a task straight to the dead-letter list with `reason` (an unknown kind, say).
    public func deadLetter(_ received: ReceivedTask, reason: String) async throws {
        let letter = DeadLetter(task: received.task, raw: String(decoding: received.raw, as: UTF8.self), queue: keys.queue, reason: reason, failedAt: Date())
        try await runFailScript(received, mode: "dead", payload: Array(try CairnJSON.encode(letter)), due: 0)
    }

    /// Returns the tasks of consumers whose heartbeat expired to the front of the queue.
    /// Returns how many tasks came back.
    @discardableResult
    public func reap() async throws -> Int {
        let reply = try await redis.send([
            "EVAL", QueueScripts.reap, "2", keys.consumers, keys.ready, keys.processingPrefix, keys.heartbeatPrefix,
        ])
        return reply.int ?? 0
    }

    /// Tasks waiting to be taken.
    public func readyCount() async throws -> Int { try await redis.send("LLEN", keys.ready).int ?? 0 }
    /// Tasks waiting for a retry.
    public func delayedCount() async throws -> Int { try await redis.send("ZCARD", keys.delayed).int ?? 0 }
    /// Tasks that failed their last attempt.
    public func deadCount() async throws -> Int { try await redis.send("LLEN", keys.dead).int ?? 0 }

    /// The dead letters, newest first.
    public func deadLetters(limit: Int = 100) async throws -> [DeadLetter] {
        try await redis.send("LRANGE", keys.dead, "0", String(limit - 1)).array.compactMap { value in
            guard case .bulk(let bytes) = value else { return nil }
            return try? CairnJSON.decode(DeadLetter.self, from: Data(bytes))
        }
    }

    func prepare(consumer: String, heartbeatTTL: Duration) async throws {
        try await redis.send([
            "EVAL", QueueScripts.prepareTake, "4", keys.delayed, keys.ready, keys.consumers, keys.heartbeat(consumer),
            String(Self.milliseconds(Date())), consumer, String(heartbeatTTL.wholeMilliseconds), "100",
        ])
    }

    private func runFailScript(_ received: ReceivedTask, mode: String, payload: [UInt8], due: Int) async throws {
        try await redis.send([
            Array("EVAL".utf8), Array(QueueScripts.fail.utf8), Array("3".utf8),
            Array(keys.processing(received.consumer).utf8), Array(keys.delayed.utf8), Array(keys.dead.utf8),
            received.raw, Array(mode.utf8), payload, Array(String(due).utf8),
        ])
    }

    static func milliseconds(_ date: Date) -> Int { Int(date.timeIntervalSince1970 * 1000) }
}

/// A task as one consumer took it: the decoded envelope and the exact bytes in Redis,
/// which `ack` and `fail` need to find it in the processing list.
public struct ReceivedTask: Sendable, Equatable {
    public let task: TaskEnvelope
    public let raw: [UInt8]
    public let consumer: String
}

/// What `fail` did with a task.
public enum FailureOutcome: Sendable, Equatable {
    case retryScheduled(at: Date)
    case deadLettered
}

/// A task that will not be tried again, with why.
public struct DeadLetter: Sendable, Codable, Equatable {
    public var task: TaskEnvelope
    /// The bytes as they were queued, for tasks that did not even decode.
    public var raw: String
    public var queue: String
    public var reason: String
    public var failedAt: Date

    enum CodingKeys: String, CodingKey {
        case task, raw, queue, reason
        case failedAt = "failed_at"
    }
}
