/// The Redis keys of one queue, all under one namespace so that tests (and several Cairn
/// sites on one Redis) never see each other's work.
public struct QueueKeys: Sendable, Equatable {
    public let namespace: String
    public let queue: String

    public init(namespace: String, queue: String) {
        self.namespace = namespace
        self.queue = queue
    }

    /// Waiting tasks: `<ns>:q:<queue>`; pushed on the left, taken from the right.
    public var ready: String { "\(namespace):q:\(queue)" }
    /// Tasks waiting for a retry, scored by due time in milliseconds.
    public var delayed: String { "\(namespace):delayed:\(queue)" }
    /// Tasks that failed their last attempt.
    public var dead: String { "\(namespace):dead:\(queue)" }
    /// The consumers that have taken from this queue.
    public var consumers: String { "\(namespace):consumers:\(queue)" }
    /// What `consumer` has taken and not yet finished.
    public func processing(_ consumer: String) -> String { "\(namespace):processing:\(queue):\(consumer)" }
    /// Present while `consumer` is alive.
    public func heartbeat(_ consumer: String) -> String { "\(namespace):heartbeat:\(queue):\(consumer)" }
    /// The prefix of every processing list (for the reaper's script).
    var processingPrefix: String { "\(namespace):processing:\(queue):" }
    var heartbeatPrefix: String { "\(namespace):heartbeat:\(queue):" }
}
