public import Logging
public import ServiceLifecycle

/// Sends what a crash left in the outbox, polling twice a second. Runs in `cairn-worker`.
public struct OutboxRelay: Service {
    public let outbox: Outbox
    public let interval: Duration

    public init(outbox: Outbox, interval: Duration = .milliseconds(500)) {
        self.outbox = outbox
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let sent = try await outbox.relay(minimumAge: interval)
                    if sent > 0 { outbox.logger.info("outbox.relayed", metadata: ["outbox.count": "\(sent)"]) }
                } catch {
                    outbox.logger.error("outbox.relay_failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
