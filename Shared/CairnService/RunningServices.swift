import Logging
import ServiceLifecycle
import Synchronization

/// The services of one daemon that are running now, by name, and the port it listens on. A
/// stop that takes long is waiting for one of them (services stop one after another, the
/// last listed first): the daemon logs each as it stops, and a test whose daemon will not
/// stop names them.
public final class RunningServices: Sendable {
    private let running = Mutex<[String]>([])
    private let port = Mutex<Int?>(nil)

    public init() {}

    /// The port the daemon's HTTP server listens on, once it does (the one the system chose
    /// when the configuration said 0).
    public var listeningPort: Int? { port.withLock { $0 } }

    func listening(on port: Int) { self.port.withLock { $0 = port } }

    /// The names of the services still running, in the order they started.
    public var names: [String] { running.withLock { $0 } }

    /// `service`, recorded here while it runs; its stop is logged (debug).
    func tracking(_ service: any Service, logger: Logger) -> any Service {
        TrackedService(service: service, name: String(describing: type(of: service)), running: self, logger: logger)
    }

    fileprivate func started(_ name: String) { running.withLock { $0.append(name) } }

    fileprivate func stopped(_ name: String) {
        running.withLock { names in
            if let index = names.firstIndex(of: name) { names.remove(at: index) }
        }
    }
}

/// A service that tells `RunningServices` when it starts and stops; graceful shutdown and
/// cancellation reach the wrapped service unchanged (it runs in the same task).
private struct TrackedService: Service {
    let service: any Service
    let name: String
    let running: RunningServices
    let logger: Logger

    func run() async throws {
        running.started(name)
        defer {
            running.stopped(name)
            logger.debug("service.stopped", metadata: ["service": "\(name)"])
        }
        try await service.run()
    }
}
