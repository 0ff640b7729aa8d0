import CairnRedis
import CairnService
import Hummingbird
import Metrics
import ServiceLifecycle

/// Counts every request under its route and latency for the five-minute route statistics
/// (`RouteStats`); a 5xx answer or an unhandled error counts as an error.
struct RouteStatsMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let stats: RouteStats

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            stats.record(route: Self.route(request, context), duration: ContinuousClock.now - start, failed: response.status.code >= 500)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            stats.record(route: Self.route(request, context), duration: ContinuousClock.now - start, failed: status >= 500)
            throw error
        }
    }

    /// `GET /:owner/:repo`, or the method and `(no route)` for requests that matched none.
    static func route(_ request: Request, _ context: GatewayContext) -> String {
        "\(request.method) \(context.endpointPath ?? "(no route)")"
    }
}

/// Exports the five-minute route figures as gauges (`cairn_route_requests_5m`,
/// `cairn_route_errors_5m`, `cairn_route_median_seconds`, `cairn_route_p99_seconds`, each
/// with a `route` label), read from Redis every 15 seconds: the whole site's figures, the
/// same from every gateway.
struct RouteStatsGauges: Service {
    let stats: RouteStats

    func run() async throws {
        // Woken by a graceful shutdown, not left to finish its sleep: the gateway stops at once.
        await repeatUntilShutdown(every: .seconds(15)) {
            guard let figures = try? await stats.window() else { return }
            for route in figures {
                let labels = [("route", route.route)]
                Gauge(label: "cairn_route_requests_5m", dimensions: labels).record(route.count)
                Gauge(label: "cairn_route_errors_5m", dimensions: labels).record(route.errors)
                Gauge(label: "cairn_route_median_seconds", dimensions: labels).record(route.medianMilliseconds / 1000)
                Gauge(label: "cairn_route_p99_seconds", dimensions: labels).record(route.p99Milliseconds / 1000)
            }
        }
    }
}
