public import CairnProtocol
import Foundation
public import Logging
import Metrics

/// Puts events on the analytics list (`<namespace>:events`) for `cairn-stream`.
/// Publishing never fails the caller: when Redis does not answer, the event is counted in
/// `cairn_events_dropped_total` and logged, and the request goes on.
public struct EventPublisher: Sendable {
    public let redis: RedisClient
    public let namespace: String
    let logger: Logger

    public init(redis: RedisClient, namespace: String, logger: Logger) {
        self.redis = redis
        self.namespace = namespace
        self.logger = logger
    }

    /// The Redis list the events go to.
    public var key: String { "\(namespace):events" }

    public func publish(_ event: EventEnvelope) async {
        do {
            try await redis.send([Array("LPUSH".utf8), Array(key.utf8), Array(try CairnJSON.encode(event))])
        } catch {
            Counter(label: "cairn_events_dropped_total", dimensions: [("type", event.type)]).increment()
            logger.warning("event.dropped", metadata: ["event.type": "\(event.type)", "error": "\(error)"])
        }
    }
}
