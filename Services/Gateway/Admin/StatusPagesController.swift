import CairnModel
import CairnProtocol
import CairnService
import Foundation
import Hummingbird
import CairnRedis

/// The public `/status` page: each daemon's health as this gateway sees it, the read-only
/// message while that mode is on, and the incidents operators posted (`cairnctl incident`).
/// The daemons are asked at most every five seconds, however often the page is loaded.
struct StatusPagesController: Sendable {
    let pages: Pages
    let readOnly: ReadOnlySwitch
    let incidents: IncidentStore
    let configuration: CairnConfiguration
    /// This gateway's own readiness checks.
    let checks: [ReadinessCheck]
    /// The daemons' last answers, asked again after five seconds.
    let health = CachedRead<[DaemonHealth]>([], lifetime: .seconds(5))

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/status") { request, context in
            let visitor = try context.pageVisitor()
            let daemons = await daemonHealth()
            let view = StatusView(
                allUp: daemons.allSatisfy(\.up), daemons: daemons, readOnly: await readOnly.message(),
                incidents: try await incidents.recent().map(IncidentItem.init))
            return pages.page("status", title: "Status", visitor, view)
        }
    }

    private func daemonHealth() async -> [DaemonHealth] {
        await health.value { await askDaemons() }
    }

    private func askDaemons() async -> [DaemonHealth] {
        await withTaskGroup(of: DaemonHealth.self) { group in
            group.addTask {
                let report = await ReadinessCheck.report(daemon: .gateway, checks: checks)
                return DaemonHealth(.gateway, up: report.ready)
            }
            for daemon in Daemon.allCases where daemon != .gateway {
                group.addTask {
                    let ready = if case .success(let report) = await ReadinessProbe.ask(configuration.listener(daemon).url, timeout: .seconds(1)) { report.ready } else { false }
                    return DaemonHealth(daemon, up: ready)
                }
            }
            return await group.reduce(into: [DaemonHealth]()) { $0.append($1) }
        }.sorted { $0.name < $1.name }
    }
}

struct DaemonHealth: Sendable {
    let name: String
    let role: String
    let up: Bool

    init(_ daemon: Daemon, up: Bool) {
        name = daemon.executable
        role = switch daemon {
        case .gateway: "web pages, API, git over HTTP"
        case .repostore: "repositories"
        case .blobstore: "LFS objects, downloads, archives"
        case .worker: "background work, webhooks, mail"
        case .stream: "traffic figures"
        case .sshd: "git over SSH"
        }
        self.up = up
    }
}

struct StatusView {
    let allUp: Bool
    let daemons: [DaemonHealth]
    let readOnly: String?
    let incidents: [IncidentItem]
}

struct IncidentItem {
    let message: String
    let major: Bool
    let posted: String
    let resolved: String?

    init(_ incident: Incident) {
        message = incident.message
        major = incident.level == .major
        posted = PageFormat.age(incident.createdAt)
        resolved = incident.resolvedAt.map { PageFormat.age($0) }
    }
}
