public import CairnProtocol
import Foundation
public import Hummingbird
import Logging
public import Prometheus

/// The routes and middleware every daemon has: request ids and request logging, metrics by
/// route template, `/healthz`, `/readyz` and `/metrics`, and for internal daemons the
/// internal-signature check (except under `publicPrefixes`, whose routes check their own).
public enum DaemonRouter {
    /// A router for `daemon` with the shared routes and middleware in place; the daemon adds its own.
    public static func make<Context: RequestContext>(
        _ context: Context.Type = Context.self,
        daemon: Daemon,
        signature: InternalSignature,
        registry: PrometheusCollectorRegistry,
        checks: [ReadinessCheck],
        publicPrefixes: [String] = []
    ) -> Router<Context> {
        let router = Router(context: Context.self)
        router.middlewares.add(RequestIDMiddleware())
        router.middlewares.add(RequestLogMiddleware())
        router.middlewares.add(MetricsMiddleware())
        if daemon.isInternal { router.middlewares.add(InternalSignatureMiddleware(signature: signature, publicPrefixes: publicPrefixes)) }
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "cairn", metricName: "build_info", unitName: "", helpText: "Always 1: the daemon is up."),
            labels: [("daemon", daemon.executable)]
        ).set(1.0)

        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: #"{"status":"ok"}"#)))
        }
        router.get("/readyz") { _, _ in
            let report = await ReadinessCheck.report(daemon: daemon, checks: checks)
            let body = (try? CairnJSON.encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return Response(status: report.ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: body)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: .init(bytes: registry.emitToBuffer())))
        }
        return router
    }
}
