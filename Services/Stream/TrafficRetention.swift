import CairnDatabase
import CairnService
import Logging
import PostgresNIO
import ServiceLifecycle

/// Keeps the analytics database small, hourly: hourly rows older than 30 days go (the daily
/// rows, written with them, hold the same totals), and batch ids after a week, long past any
/// lease. (The visitor sets in Redis expire by themselves.)
struct TrafficRetention: Service {
    let client: PostgresClient
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async throws {
        await repeatUntilShutdown(every: interval) {
            do {
                try await pruneOnce()
            } catch {
                logger.warning("stream.retention_failed", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    func pruneOnce() async throws {
        try await client.run("DELETE FROM traffic WHERE span = 1 AND bucket < now() - interval '30 days'", logger: logger)
        try await client.run("DELETE FROM processed_batches WHERE processed_at < now() - interval '7 days'", logger: logger)
    }
}
