public import ServiceLifecycle

/// Runs `body` now and then every `interval` until the daemon shuts down gracefully: the
/// loop of a daemon's housekeeping services.
public func repeatUntilShutdown(every interval: Duration, _ body: @escaping @Sendable () async -> Void) async {
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            await body()
            try? await Task.sleep(for: interval)
        }
    }
}
