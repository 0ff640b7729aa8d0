import CairnModel
import Foundation
import Hummingbird

/// `/admin/errors`: the error reports, most recently seen first, and each one whole. Site
/// admins only (404 for everyone else).
struct ErrorPagesController: Sendable {
    let pages: Pages
    let reports: ErrorReportStore

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/admin/errors") { request, context in
            let visitor = try pages.admin(context)
            let view = ErrorReportsView(reports: try await reports.recent().map(ErrorReportItem.init))
            return pages.page("error_reports", title: "Errors", visitor, view)
        }
        router.get("/admin/errors/:id") { request, context in
            let visitor = try pages.admin(context)
            guard let id = Int64(try context.parameters.require("id")), let report = try await reports.find(id: id) else { throw GatewayError.notFound }
            return pages.page("error_report", title: "Error \(report.fingerprint)", visitor, ErrorReportItem(report))
        }
    }
}

struct ErrorReportsView {
    let reports: [ErrorReportItem]
}

struct ErrorReportItem {
    let url: String
    let fingerprint: String
    let type: String
    let site: String
    let message: String
    let details: String
    let count: Int64
    let firstSeen: String
    let lastSeen: String
    let lastRequest: String
    let lastUser: String
    let lastRequestID: String

    init(_ report: ErrorReport) {
        url = "/admin/errors/\(report.id)"
        fingerprint = report.fingerprint
        type = report.type
        site = report.site
        message = report.message
        details = report.details
        count = report.count
        firstSeen = PageFormat.age(report.firstSeen)
        lastSeen = PageFormat.age(report.lastSeen)
        lastRequest = report.lastRequest
        lastUser = report.lastUserID.map { "user \($0)" } ?? "anonymous"
        lastRequestID = report.lastRequestID
    }
}
