import CairnModel
import Foundation
import Hummingbird

/// A repository's Traffic page (its writers and admins: views, clones, popular content over
/// 14 days) and the site activity page (site admins). Both read only what `cairn-stream`
/// folded into the analytics database.
struct TrafficPagesController: Sendable {
    let pages: Pages
    let repositoryPages: RepositoryPages
    let traffic: TrafficStore
    let growth: SiteGrowthStore

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let writers = repositoryPages.routes(router, requiring: .write, refusal: "Only people who can push to a repository see its traffic.")
        writers.get("/:owner/:repo/traffic") { request, context in
            let page = try await repositoryPages.load(request, context)
            let daily = try await traffic.days(repository: page.repository.id)
            let (views, clones) = TrafficStore.series(daily)
            let paths = try await traffic.popularPaths(repository: page.repository.id)
            let view = TrafficView(
                views: views.map(TrafficRow.init), viewsTotal: views.total, viewsUniques: views.uniques,
                viewsChart: TrafficChart.svg(views, label: "Views and unique visitors per day"),
                clones: clones.map(TrafficRow.init), clonesTotal: clones.total, clonesUniques: clones.uniques,
                clonesChart: TrafficChart.svg(clones, label: "Clones and unique cloners per day"),
                paths: paths.map { PathRow(path: $0.path, title: $0.title, count: $0.count, uniques: $0.uniques) },
                pullsOpened: daily.reduce(0) { $0 + $1.pullsOpened }, pullsMerged: daily.reduce(0) { $0 + $1.pullsMerged })
            return repositoryPages.repositoryPage(page, header: page.header("traffic", baseURL: repositoryPages.baseURL), body: pages.renderer.render("traffic", view), title: "Traffic · \(page.repository.fullName)")
        }
        router.get("/admin/activity") { request, context in
            let visitor = try pages.admin(context)
            let days = try await traffic.days()
            let since = days.first?.day ?? Date()
            let users = try await growth.newUsers(since: since)
            let repositories = try await growth.newRepositories(since: since)
            let view = SiteActivityView(
                days: days.reversed().map { day in
                    SiteActivityRow(
                        day: PageFormat.date(day.day), views: day.views, visitors: day.visitors, clones: day.clones, pushes: day.pushes,
                        commits: day.commits, downloads: day.downloads, pullsOpened: day.pullsOpened, pullsMerged: day.pullsMerged, users: users[day.day] ?? 0, repositories: repositories[day.day] ?? 0)
                },
                viewsChart: TrafficChart.svg(days.map { TrafficStore.Point(start: $0.day, count: $0.views, uniques: $0.visitors) }, label: "Page views and visitors per day"))
            return pages.page("site_activity", title: "Site activity", visitor, view)
        }
    }
}

struct TrafficView {
    let views: [TrafficRow]
    let viewsTotal: Int64
    let viewsUniques: Int64
    let viewsChart: String
    let clones: [TrafficRow]
    let clonesTotal: Int64
    let clonesUniques: Int64
    let clonesChart: String
    let paths: [PathRow]
    let pullsOpened: Int64
    let pullsMerged: Int64
}

struct TrafficRow {
    let day: String
    let count: Int64
    let uniques: Int64

    init(_ point: TrafficStore.Point) {
        day = PageFormat.date(point.start)
        count = point.count
        uniques = point.uniques
    }
}

struct PathRow {
    let path: String
    let title: String
    let count: Int64
    let uniques: Int64
}

struct SiteActivityView {
    let days: [SiteActivityRow]
    let viewsChart: String
}

struct SiteActivityRow {
    let day: String
    let views: Int64
    let visitors: Int64
    let clones: Int64
    let pushes: Int64
    let commits: Int64
    let downloads: Int64
    let pullsOpened: Int64
    let pullsMerged: Int64
    let users: Int64
    let repositories: Int64
}

extension [TrafficStore.Point] {
    var total: Int64 { reduce(0) { $0 + $1.count } }
    var uniques: Int64 { reduce(0) { $0 + $1.uniques } }
}
