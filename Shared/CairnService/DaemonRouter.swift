public import CairnProtocol
import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
public import Prometheus

/// The routes and middleware every daemon has: request ids and request logging, metrics by
/// route template, `/healthz`, `/readyz` and `/metrics`, and for internal daemons the
/// internal-signature check (except under `publicPrefixes`, whose routes check their own;
/// `streamsBody` names the routes that take a body as a stream, unhashed).
public enum DaemonRouter {
    /// A router for `daemon` with the shared routes and middleware in place; the daemon adds its own.
    public static func make<Context: RequestContext>(
        _ context: Context.Type = Context.self,
        daemon: Daemon,
        signature: InternalSignature,
        registry: PrometheusCollectorRegistry,
        checks: [ReadinessCheck],
        publicPrefixes: [String] = [],
        streamsBody: @escaping @Sendable (HTTPRequest.Method, String) -> Bool = { _, _ in false }
    ) -> Router<Context> {
        let router = Router(context: Context.self)
        router.middlewares.add(RequestIDMiddleware())
        router.middlewares.add(RequestLogMiddleware())
        router.middlewares.add(MetricsMiddleware())
        if daemon.isInternal { router.middlewares.add(InternalSignatureMiddleware(signature: signature, daemon: daemon, publicPrefixes: publicPrefixes, streamsBody: streamsBody)) }
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "cairn", metricName: "build_info", unitName: "", helpText: "Always 1: the daemon is up."),
            labels: [("daemon", daemon.executable)]
        ).set(1.0)

        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: #"{"status":"ok"}"#)))
        }
        router.get("/readyz") { request, context in
            var report = await ReadinessCheck.report(daemon: daemon, checks: checks)
            // What each store said (addresses, errors) is for the operator, not the public.
            if !isOperator(request, context) { report.checks = report.checks.mapValues { $0 == "ok" ? "ok" : "not ok" } }
            let body = (try? CairnJSON.encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return Response(status: report.ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: body)))
        }
        router.get("/metrics") { request, context in
            guard isOperator(request, context) else { return Response(status: .notFound) }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: .init(bytes: registry.emitToBuffer())))
        }
        return router
    }

    /// Whether a request comes from the machine itself, not through the proxy in front (which
    /// adds `X-Real-IP` or `X-Forwarded-For`): the operator's monitoring, `cairnctl status`,
    /// the internal daemons' loopback callers. Contexts that know no peer count as local.
    static func isOperator(_ request: Request, _ context: some RequestContext) -> Bool {
        if request.headers[HTTPField.Name("X-Real-IP")!] != nil || request.headers[HTTPField.Name("X-Forwarded-For")!] != nil { return false }
        guard let peer = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress else { return true }
        return peer == "127.0.0.1" || peer == "::1" || peer.hasPrefix("::ffff:127.") || peer.hasPrefix("127.")
    }
}
