import CairnProtocol
public import Hummingbird
import Logging
public import ServiceLifecycle

/// Assembles a daemon's Hummingbird application: listening where configured, running the
/// stores' services and the daemon's own, checking schemas before it listens, and telling
/// systemd `READY=1` once it does.
public enum DaemonApplication {
    /// The application serving `router`, whose routes are recorded in `environment.routes`.
    public static func make<Context>(
        _ environment: DaemonEnvironment,
        router: Router<Context>,
        stores: DaemonStores,
        services: [any Service] = []
    ) -> Application<RouterResponder<Context>> where Context: InitializableFromSource<ApplicationRequestContextSource> {
        environment.routes.record(router.routes.map { RouteCatalog.Route(method: $0.method.rawValue, path: $0.path.description) })
        return make(environment, responder: router.buildResponder(), stores: stores, services: services)
    }

    public static func make<Responder: HTTPResponder>(
        _ environment: DaemonEnvironment,
        responder: Responder,
        stores: DaemonStores,
        services: [any Service] = []
    ) -> Application<Responder> where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        let listener = environment.listener
        var app = Application(
            responder: responder,
            configuration: .init(address: .hostname(listener.host, port: listener.port), serverName: environment.daemon.executable),
            services: (stores.services + services + [SystemdReadiness()]).map { environment.services.tracking($0, logger: environment.logger) },
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listener.port
                environment.services.listening(on: port)
                environment.logger.info("daemon.listening", metadata: ["daemon.address": "\(listener.host):\(port)"])
                SystemdNotifier.notify("READY=1")
            },
            logger: environment.logger)
        app.beforeServerStarts { try await stores.requireSchemas() }
        return app
    }
}
