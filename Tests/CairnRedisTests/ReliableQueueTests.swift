import CairnProtocol
import CairnRedis
import CairnTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct ReliableQueueTests {
    func queue(_ redis: RedisClient, _ namespace: String, retry: RetryPolicy = RetryPolicy()) -> ReliableQueue {
        ReliableQueue(redis: redis, name: "default", namespace: namespace, retry: retry)
    }

    @Test func test_enqueuedTasksAreTakenInOrderAndAckRemovesThem() async throws {
        try await withTestRedis { redis, namespace in
            let queue = queue(redis, namespace)
            let consumer = QueueConsumer(id: "c1")
            for n in 1...3 { try await queue.enqueue(TaskEnvelope(kind: "push", args: .object(["n": .number(Double(n))]))) }
            var seen: [Double] = []
            for _ in 1...3 {
                let received = try #require(try await queue.take(consumer: consumer, timeout: .seconds(1)))
                seen.append(received.task.args["n"]?.numberValue ?? 0)
                #expect(try await redis.send("LLEN", queue.keys.processing("c1")).int == 1)
                try await queue.ack(received)
            }
            #expect(seen == [1, 2, 3])
            #expect(try await redis.send("LLEN", queue.keys.processing("c1")).int == 0)
            #expect(try await queue.readyCount() == 0)
        }
    }

    @Test func test_takeTimesOutWithNothingQueued() async throws {
        try await withTestRedis { redis, namespace in
            let started = ContinuousClock.now
            let taken = try await queue(redis, namespace).take(consumer: QueueConsumer(id: "idle"), timeout: .milliseconds(200))
            #expect(taken == nil)
            #expect(ContinuousClock.now - started >= .milliseconds(150))
        }
    }

    @Test func test_failedTaskIsRetriedLaterWithItsAttemptCounted() async throws {
        try await withTestRedis { redis, namespace in
            // A delay of 1–2 s (jitter): long enough that the first check below, even on a busy
            // machine, comes before it is due.
            let queue = queue(redis, namespace, retry: RetryPolicy(maxAttempts: 3, baseDelay: .seconds(2), maxDelay: .seconds(2)))
            let consumer = QueueConsumer(id: "c1")
            try await queue.enqueue(TaskEnvelope(kind: "webhook.deliver", id: "t1"))
            let first = try #require(try await queue.take(consumer: consumer, timeout: .seconds(1)))
            guard case .retryScheduled = try await queue.fail(first, reason: "receiver said 500") else { Issue.record("expected a retry"); return }
            #expect(try await queue.delayedCount() == 1)
            #expect(try await redis.send("LLEN", queue.keys.processing("c1")).int == 0)

            try await consumer.heartbeat(queue)  // not due yet: stays delayed
            #expect(try await queue.readyCount() == 0)
            try await Task.sleep(for: .milliseconds(2050))
            try await consumer.heartbeat(queue)
            let second = try #require(try await queue.take(consumer: consumer, timeout: .seconds(1)))
            #expect(second.task.id == "t1")
            #expect(second.task.attempt == 1)
        }
    }

    @Test func test_taskIsDeadLetteredAfterItsLastAttemptWithTheReason() async throws {
        try await withTestRedis { redis, namespace in
            let queue = queue(redis, namespace, retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1)))
            let consumer = QueueConsumer(id: "c1")
            try await queue.enqueue(TaskEnvelope(kind: "webhook.deliver", id: "doomed"))
            let first = try #require(try await queue.take(consumer: consumer, timeout: .seconds(1)))
            _ = try await queue.fail(first, reason: "first failure")
            try await Task.sleep(for: .milliseconds(20))
            try await consumer.heartbeat(queue)
            let second = try #require(try await queue.take(consumer: consumer, timeout: .seconds(1)))
            #expect(try await queue.fail(second, reason: "connection refused") == .deadLettered)
            let letters = try await queue.deadLetters()
            #expect(letters.count == 1)
            #expect(letters.first?.task.id == "doomed")
            #expect(letters.first?.reason == "connection refused")
            #expect(try await queue.readyCount() == 0)
            #expect(try await queue.delayedCount() == 0)
        }
    }

    @Test func test_malformedPayloadIsDeadLetteredNotDropped() async throws {
        try await withTestRedis { redis, namespace in
            let queue = queue(redis, namespace)
            try await queue.enqueue(encoded: [Array("{not json".utf8)])
            #expect(try await queue.take(consumer: QueueConsumer(id: "c1"), timeout: .milliseconds(200)) == nil)
            let letter = try #require(try await queue.deadLetters().first)
            #expect(letter.raw == "{not json")
            #expect(letter.reason.contains("malformed"))
        }
    }

    @Test func test_taskOfAConsumerThatDiedIsDeliveredToAnother() async throws {
        try await withTestRedis { redis, namespace in
            let queue = queue(redis, namespace)
            try await queue.enqueue(TaskEnvelope(kind: "push", id: "orphan"))
            // This consumer takes the task and then dies: it never acks and its heartbeat lapses.
            // (Its heartbeat lasts long enough that a loaded machine still sees it alive first.)
            let doomed = QueueConsumer(id: "doomed", heartbeatTTL: .seconds(6))
            let taken = try #require(try await queue.take(consumer: doomed, timeout: .seconds(1)))
            #expect(taken.task.id == "orphan")

            let survivor = QueueConsumer(id: "survivor")
            #expect(try await queue.take(consumer: survivor, timeout: .milliseconds(100)) == nil)
            #expect(try await queue.reap() == 0)  // still alive
            #expect(await eventually(timeout: .seconds(30)) { (try? await queue.reap()) == 1 })
            let redelivered = try #require(try await queue.take(consumer: survivor, timeout: .seconds(1)))
            #expect(redelivered.task.id == "orphan")
            try await queue.ack(redelivered)
            #expect(try await redis.send("LLEN", queue.keys.processing("doomed")).int == 0)
        }
    }

    @Test func test_lateFailFromAReapedConsumerDoesNotDuplicate() async throws {
        try await withTestRedis { redis, namespace in
            let queue = queue(redis, namespace)
            try await queue.enqueue(TaskEnvelope(kind: "push", id: "once"))
            let slow = QueueConsumer(id: "slow", heartbeatTTL: .milliseconds(100))
            let taken = try #require(try await queue.take(consumer: slow, timeout: .seconds(1)))
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await queue.reap() == 1)
            _ = try await queue.fail(taken, reason: "too late")
            #expect(try await queue.readyCount() == 1)
            #expect(try await queue.delayedCount() == 0)
        }
    }

    @Test func test_backoffGrowsExponentiallyWithJitterAndIsCapped() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .seconds(1), maxDelay: .seconds(60))
        for attempt in 0..<8 {
            let delay = policy.delay(afterAttempt: attempt)
            let full = min(Duration.seconds(1 << attempt), .seconds(60))
            #expect(delay >= full / 2 && delay <= full)
        }
        let delays = Set((0..<20).map { _ in policy.delay(afterAttempt: 4) })
        #expect(delays.count > 1)
    }
}

@Suite(.timeLimit(.minutes(5))) struct ReliableQueueBatchTests {
    @Test func test_batchTakeAndAckMoveSeveralTasksAtOnce() async throws {
        try await withTestRedis { redis, namespace in
            let queue = ReliableQueue(redis: redis, name: "default", namespace: namespace)
            try await queue.enqueue(encoded: (0..<5).map { Array(try! CairnJSON.encode(TaskEnvelope(kind: "noop", id: "b\($0)"))) })
            let consumer = QueueConsumer(id: "batch")
            let first = try await queue.take(consumer: consumer, timeout: .seconds(1), limit: 3)
            #expect(first.map(\.task.id) == ["b0", "b1", "b2"])
            #expect(try await redis.send("LLEN", queue.keys.processing("batch")).int == 3)
            try await queue.ack(first)
            let rest = try await queue.take(consumer: consumer, timeout: .seconds(1), limit: 10)
            #expect(rest.map(\.task.id) == ["b3", "b4"])
            try await queue.ack(rest)
            #expect(try await redis.send("LLEN", queue.keys.processing("batch")).int == 0)
            // Empty: waits for one like take(consumer:timeout:).
            #expect(try await queue.take(consumer: consumer, timeout: .milliseconds(100), limit: 10).isEmpty)
        }
    }
}
