import CairnRedis
import Logging
import ServiceLifecycle

/// Every few seconds, returns the tasks of consumers whose heartbeat expired to their queue.
struct QueueReaper: Service {
    let queues: [ReliableQueue]
    let logger: Logger
    var interval: Duration = .seconds(5)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for queue in queues {
                    do {
                        let returned = try await queue.reap()
                        if returned > 0 { logger.warning("queue.reaped", metadata: ["queue.name": "\(queue.keys.queue)", "queue.returned": "\(returned)"]) }
                    } catch {
                        logger.error("queue.reap_failed", metadata: ["queue.name": "\(queue.keys.queue)", "error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
