public import CairnProtocol
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// Puts events on the analytics list (`<namespace>:events`) for `cairn-stream`.
///
/// `emit` never waits and never fails: it only appends the encoded event to a bounded
/// buffer, which `run` (a service of the daemon) pushes to Redis every `flushInterval` in one
/// `LPUSH`. When Redis does not answer, or the buffer is full because it has not answered
/// for a while, events are counted in `cairn_events_dropped_total` and the request goes on.
public final class EventPublisher: Service, Sendable {
    public let redis: RedisClient
    public let namespace: String
    private let logger: Logger
    private let capacity: Int
    private let flushInterval: Duration
    private let buffer = Mutex<[(type: String, bytes: [UInt8])]>([])
    private let droppedTotal = Atomic<Int>(0)

    public init(redis: RedisClient, namespace: String, logger: Logger, capacity: Int = 20_000, flushInterval: Duration = .milliseconds(50)) {
        self.redis = redis
        self.namespace = namespace
        self.logger = logger
        self.capacity = capacity
        self.flushInterval = flushInterval
    }

    /// The Redis list the events go to.
    public var key: String { "\(namespace):events" }

    /// Events dropped since start (also counted in `cairn_events_dropped_total`).
    public var dropped: Int { droppedTotal.load(ordering: .relaxed) }

    /// Queues `event` for the next flush.
    public func emit(_ event: EventEnvelope) {
        guard let bytes = try? Array(CairnJSON.encode(event)) else { return dropped([event.type], reason: "not encodable") }
        let accepted = buffer.withLock { pending in
            guard pending.count < capacity else { return false }
            pending.append((event.type, bytes))
            return true
        }
        if !accepted { dropped([event.type], reason: "buffer full") }
    }

    /// Flushes every `flushInterval` until the daemon stops, then once more.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.flushInterval)
                await self.flush()
            }
        }
        await flush()
    }

    /// Sends what the buffer holds now.
    public func flush() async {
        let pending = buffer.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !pending.isEmpty else { return }
        do {
            try await redis.send([Array("LPUSH".utf8), Array(key.utf8)] + pending.map(\.bytes))
        } catch {
            dropped(pending.map(\.type), reason: "\(error)")
        }
    }

    private func dropped(_ types: [String], reason: String) {
        droppedTotal.add(types.count, ordering: .relaxed)
        for (type, count) in Dictionary(types.map { ($0, 1) }, uniquingKeysWith: +) {
            Counter(label: "cairn_events_dropped_total", dimensions: [("type", type)]).increment(by: count)
        }
        logger.warning("events.dropped", metadata: ["events.count": "\(types.count)", "error": "\(reason)"])
    }
}
