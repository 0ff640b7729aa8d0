public import Foundation
import Synchronization

/// One consumer of a queue: a stable id for its processing list, and a heartbeat that says
/// it is alive. Its heartbeat is renewed as it takes, and by `heartbeat` while a long task runs.
public final class QueueConsumer: Sendable {
    public let id: String
    /// How long the consumer counts as alive after its last heartbeat.
    public let heartbeatTTL: Duration
    private let lastPrepared = Mutex<ContinuousClock.Instant?>(nil)

    public init(id: String = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))", heartbeatTTL: Duration = .seconds(30)) {
        self.id = id
        self.heartbeatTTL = heartbeatTTL
    }

    /// Renews the heartbeat (and moves due retries) now.
    public func heartbeat(_ queue: ReliableQueue) async throws {
        try await queue.prepare(consumer: id, heartbeatTTL: heartbeatTTL)
        lastPrepared.withLock { $0 = .now }
    }

    /// Renews at most once a second, so taking stays one round trip when busy.
    func prepareIfDue(_ queue: ReliableQueue) async throws {
        let due = lastPrepared.withLock { last in last.map { ContinuousClock.now - $0 > .seconds(1) } ?? true }
        if due { try await heartbeat(queue) }
    }
}
