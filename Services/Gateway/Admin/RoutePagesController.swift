import CairnRedis
import Foundation
import Hummingbird

/// `/admin/routes`: each route's requests, median and 99th-percentile latency and errors
/// over the last five minutes, across every gateway. Site admins only.
struct RoutePagesController: Sendable {
    let pages: Pages
    let stats: RouteStats

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/admin/routes") { request, context in
            let visitor = try pages.admin(context)
            let rows = try await stats.window().map { figures in
                RouteRow(
                    route: figures.route, count: figures.count, errors: figures.errors,
                    median: Self.milliseconds(figures.medianMilliseconds), p99: Self.milliseconds(figures.p99Milliseconds))
            }
            return pages.page("routes", title: "Routes", visitor, RoutesView(minutes: RouteStats.windowMinutes, routes: rows))
        }
    }

    /// "≤ 20 ms", or "> 10 s" for the open bucket.
    static func milliseconds(_ bound: Double) -> String {
        bound.isInfinite ? "> 10 s" : "≤ \(Int(bound)) ms"
    }
}

struct RoutesView {
    let minutes: Int
    let routes: [RouteRow]
}

struct RouteRow {
    let route: String
    let count: Int
    let errors: Int
    let median: String
    let p99: String
}
