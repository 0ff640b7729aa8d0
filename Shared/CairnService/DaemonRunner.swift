public import CairnProtocol
import Foundation
public import Hummingbird
public import Logging
import Metrics
import Prometheus
public import ServiceLifecycle
import UnixSignals

/// What each daemon's `main` does: read the configuration, set up logging and metrics once
/// for the process, build the daemon with its builder, and run it until SIGTERM or SIGINT,
/// draining in-flight work for at most `shutdown.gracePeriod`.
public enum DaemonRunner {
    /// Runs `daemon`; exits the process with 78 (EX_CONFIG) on a configuration error and 1
    /// when the daemon fails.
    public static func main<App: ApplicationProtocol>(_ daemon: Daemon, build: (DaemonEnvironment) async throws -> App) async -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.contains("--help") || arguments.contains("-h") {
            print("usage: \(daemon.executable) [--config FILE]\n\nReads FILE (or $CAIRN_CONFIG), then CAIRN_* environment variables; see the README for every key.")
            exit(0)
        }
        var file: String?
        if let index = arguments.firstIndex(of: "--config") {
            guard index + 1 < arguments.count else { fail("--config needs a file path", code: 64) }
            file = arguments[index + 1]
        } else if let unknown = arguments.first {
            fail("unknown argument \(unknown); try --help", code: 64)
        }
        let configuration: CairnConfiguration
        do {
            configuration = try CairnConfiguration.load(file: file, environment: ProcessInfo.processInfo.environment)
        } catch {
            fail("\(daemon.executable): \(error)", code: 78)
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: daemon.executable)
        logger.logLevel = level
        do {
            let environment = try DaemonEnvironment(daemon: daemon, configuration: configuration, logger: logger, registry: registry)
            let app = try await build(environment)
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: app)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger).withGracePeriod(configuration.gracePeriod))
            try await group.run()
            logger.info("daemon.stopped")
            exit(0)
        } catch {
            logger.critical("daemon.failed", metadata: ["error": "\(String(reflecting: error))"])
            fail("\(daemon.executable): \(error)", code: 1)
        }
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }
}

extension ServiceGroupConfiguration {
    fileprivate func withGracePeriod(_ period: Duration) -> Self {
        var copy = self
        copy.maximumGracefulShutdownDuration = period
        copy.maximumCancellationDuration = .seconds(1)
        return copy
    }
}

/// Announces readiness to systemd once the server listens, and `STOPPING=1` at shutdown.
public struct SystemdReadiness: Service {
    public init() {}

    public func run() async throws {
        try? await gracefulShutdown()
        SystemdNotifier.notify("STOPPING=1")
    }
}
