public import CairnProtocol
public import CairnSigning
public import Logging
public import Prometheus

/// What every daemon's builder is handed: its configuration, a logger, the metrics registry
/// that `/metrics` serves, and the signer made from the configured keys.
public struct DaemonEnvironment: Sendable {
    public let daemon: Daemon
    public let configuration: CairnConfiguration
    public let logger: Logger
    public let registry: PrometheusCollectorRegistry
    public let signer: Signer
    /// The routes the daemon's router holds, filled when its application is built.
    public let routes: RouteCatalog
    /// The daemon's services that are running now.
    public let services: RunningServices

    public init(
        daemon: Daemon, configuration: CairnConfiguration, logger: Logger, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        routes: RouteCatalog = RouteCatalog(), services: RunningServices = RunningServices()
    ) throws {
        self.daemon = daemon
        self.routes = routes
        self.services = services
        self.configuration = configuration
        self.logger = logger
        self.registry = registry
        self.signer = try Signer(key: configuration.signingKey, fallbackKeys: configuration.signingFallbackKeys)
    }

    /// The internal request signature made with this environment's signer.
    public var internalSignature: InternalSignature { InternalSignature(signer: signer) }

    /// Where this daemon listens.
    public var listener: CairnConfiguration.Listener { configuration.listener(daemon) }
}
