public import Foundation
public import Logging
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// Deletes the outbox rows of tasks already pushed to Redis, in batches, off the committing
/// caller's path. Its delay (tens of milliseconds) stays well under the relay's minimum
/// age, so the relay does not resend what the committer already pushed. At shutdown it
/// deletes what is left.
public final class OutboxCleaner: Service, Sendable {
    let client: PostgresClient
    let logger: Logger
    private let pending = Mutex<[UUID]>([])
    private let wakeUp: AsyncStream<Void>.Continuation
    private let wakeUps: AsyncStream<Void>

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        (wakeUps, wakeUp) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues rows for deletion.
    func schedule(_ ids: [UUID]) {
        pending.withLock { $0 += ids }
        wakeUp.yield()
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in self.wakeUps {
                await self.flush()
            }
        }
        await flush()
    }

    /// Deletes every scheduled row now.
    public func flush() async {
        let ids = pending.withLock { ids in defer { ids.removeAll() }; return ids }
        guard !ids.isEmpty else { return }
        do {
            _ = try await client.run("DELETE FROM task_outbox WHERE id = ANY(\(ids))", logger: logger)
        } catch {
            logger.warning("outbox.cleanup_failed", metadata: ["error": "\(error)", "outbox.count": "\(ids.count)"])
        }
    }
}
