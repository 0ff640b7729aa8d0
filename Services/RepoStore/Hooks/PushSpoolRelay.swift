import CairnProtocol
import CairnRedis
import CairnService
import Logging
import ServiceLifecycle

/// Sends the spooled pushes that their request could not hand to Redis (Redis was away, or
/// the store stopped between the two), once a second while any wait, until the daemon
/// stops; a record leaves the spool only once Redis has taken its task.
struct PushSpoolRelay: Service {
    let spool: PushSpool
    let queue: ReliableQueue
    let logger: Logger
    var interval: Duration = .seconds(1)

    func run() async throws {
        await repeatUntilShutdown(every: interval) { await relay() }
    }

    /// Sends what waits now, oldest first; stops at the first failure (Redis is still away).
    func relay() async {
        let (tasks, unreadable) = spool.waiting()
        for push in unreadable { logger.error("push.spool_unreadable", metadata: ["push.id": "\(push)", "spool": "\(spool.folder)"]) }
        for task in tasks {
            do {
                try await queue.enqueue(task.envelope)
            } catch {
                logger.warning("push.spool_relay_waiting", metadata: ["push.waiting": "\(tasks.count)", "error": "\(error)"])
                return
            }
            spool.remove(task.id)
            logger.info("push.spool_relayed", metadata: ["task.id": "\(task.id)", "repo.id": "\(task.repository)"])
        }
    }
}
