import CairnDatabase
import CairnRedis
import ServiceLifecycle

/// Follows the `cairnctl debug-sql` switch (`<namespace>:switch:debug-sql`, which expires by
/// itself): while it is set, every query this daemon runs is logged with its duration. It
/// checks every two seconds, so the logging starts and stops within that time everywhere,
/// and touches the logging only when the switch changes.
struct DebugSQLWatcher: Service {
    let redis: RedisClient
    let namespace: String

    static func key(_ namespace: String) -> String { "\(namespace):switch:debug-sql" }

    func run() async throws {
        // Woken by a graceful shutdown, not left to finish its sleep.
        await cancelWhenGracefulShutdown {
            var wasOn = false
            while !Task.isCancelled {
                if let remaining = try? await redis.send("PTTL", Self.key(namespace)).int, remaining > 0 {
                    SQLLog.debug(until: .now + .milliseconds(remaining))
                    wasOn = true
                } else if wasOn {
                    SQLLog.debug(until: nil)
                    wasOn = false
                }
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }
}
