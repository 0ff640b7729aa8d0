import CairnRedis
import Metrics
import ServiceLifecycle

/// Every few seconds, exports each queue's depth: tasks ready, waiting for a retry, and dead.
struct QueueDepthGauge: Service {
    let queues: [ReliableQueue]
    var interval: Duration = .seconds(5)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for queue in queues {
                    let name = queue.keys.queue
                    if let ready = try? await queue.readyCount() { Gauge(label: "cairn_queue_depth", dimensions: [("queue", name), ("state", "ready")]).record(ready) }
                    if let delayed = try? await queue.delayedCount() { Gauge(label: "cairn_queue_depth", dimensions: [("queue", name), ("state", "delayed")]).record(delayed) }
                    if let dead = try? await queue.deadCount() { Gauge(label: "cairn_queue_depth", dimensions: [("queue", name), ("state", "dead")]).record(dead) }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
