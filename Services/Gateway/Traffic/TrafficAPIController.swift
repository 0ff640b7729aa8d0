import CairnModel
import Foundation
import Hummingbird

/// GitHub's traffic API, for people who can push: `GET /api/v3/repos/{o}/{r}/traffic/views`
/// and `…/traffic/clones` (`per=day|week`, the last 14 days), `…/traffic/popular/paths`
/// (the ten most viewed paths).
struct TrafficAPIController: Sendable {
    let access: RepositoryAccess
    let traffic: TrafficStore

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let group = router.group("/api/v3/repos/:owner/:repo/traffic")
        group.repository(.write, access).get("views") { request, context in
            let repository = try context.resolvedRepository().repository
            let points = try await traffic.series(repository: repository.id, per: try period(request)).views
            return try APIEncoding.response(APITrafficViews(count: points.total, uniques: points.uniques, views: points.map(APITrafficPoint.init)))
        }
        group.repository(.write, access).get("clones") { request, context in
            let repository = try context.resolvedRepository().repository
            let points = try await traffic.series(repository: repository.id, per: try period(request)).clones
            return try APIEncoding.response(APITrafficClones(count: points.total, uniques: points.uniques, clones: points.map(APITrafficPoint.init)))
        }
        group.repository(.write, access).get("popular/paths") { request, context in
            let repository = try context.resolvedRepository().repository
            let paths = try await traffic.popularPaths(repository: repository.id)
            return try APIEncoding.response(paths.map { APIPopularPath(path: $0.path, title: $0.title, count: $0.count, uniques: $0.uniques) })
        }
    }

    private func period(_ request: Request) throws -> TrafficStore.Period {
        guard let text = request.uri.queryParameters["per"] else { return .day }
        guard let period = TrafficStore.Period(rawValue: String(text)) else { throw GatewayError.invalid("per must be day or week, got \"\(text)\"") }
        return period
    }
}

struct APITrafficPoint: Encodable {
    let timestamp: Date
    let count: Int64
    let uniques: Int64

    init(_ point: TrafficStore.Point) {
        timestamp = point.start
        count = point.count
        uniques = point.uniques
    }
}

struct APITrafficViews: Encodable {
    let count: Int64
    let uniques: Int64
    let views: [APITrafficPoint]
}

struct APITrafficClones: Encodable {
    let count: Int64
    let uniques: Int64
    let clones: [APITrafficPoint]
}

struct APIPopularPath: Encodable {
    let path: String
    let title: String
    let count: Int64
    let uniques: Int64
}
