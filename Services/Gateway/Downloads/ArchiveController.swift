import CairnModel
import CairnProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// `/<owner>/<repo>/archive/<ref>.tar.gz|.zip` for readers (see `Archives`): a redirect to a
/// signed blob-store link, or, while the archive is built, 202 with `Retry-After` and a page
/// that reloads itself. The API's `tarball/{ref}` and `zipball/{ref}` answer the same way,
/// for tokens too.
struct ArchiveController: Sendable {
    let repositoryPages: RepositoryPages
    let access: RepositoryAccess
    let archives: Archives
    let traffic: TrafficEvents
    let pages: Pages
    let baseURL: String
    static let retrySeconds = 3

    func addRoutes(pages pageRoutes: RouterGroup<GatewayContext>, api apiRoutes: RouterGroup<GatewayContext>) {
        repositoryPages.routes(pageRoutes, requiring: .read).get("/:owner/:repo/archive/**") { request, context in
            let page = try await repositoryPages.load(request, context)
            guard let (ref, format) = ArchiveFormat.split(RepositoryPages.catchAll(context)) else { throw GatewayError.notFound }
            let wanted = try await archives.wanted(page.repository, ref: ref, format: format)
            if let blob = try await archives.blob(page.repository, wanted) {
                return try await archives.downloads.redirect(to: blob, savedAs: wanted.savedAs, page: page)
            }
            let view = ArchivePendingView(fileName: wanted.savedAs, retrySeconds: Self.retrySeconds)
            var response = repositoryPages.repositoryPage(
                page, header: page.header("code", baseURL: baseURL), body: pages.renderer.render("archive_pending", view),
                title: "Preparing \(wanted.savedAs)", status: .accepted)
            response.headers[.retryAfter] = String(Self.retrySeconds)
            response.headers[HTTPField.Name("Refresh")!] = String(Self.retrySeconds)
            return response
        }
        let repos = apiRoutes.group("/api/v3/repos/:owner/:repo").repository(.read, access)
        for (kind, format) in [("tarball", ArchiveFormat.tarGz), ("zipball", ArchiveFormat.zip)] {
            repos.get(RouterPath(stringLiteral: "\(kind)/:ref")) { request, context in try await apiArchive(request, context, format: format) }
            // GitHub answers without a ref too: the default branch.
            repos.get(RouterPath(stringLiteral: kind)) { request, context in try await apiArchive(request, context, format: format) }
        }
    }

    /// GitHub's `GET …/tarball/{ref}` and `…/zipball/{ref}`: 302 to a signed link, or 202
    /// with `Retry-After` while the archive is built.
    private func apiArchive(_ request: Request, _ context: GatewayContext, format: ArchiveFormat) async throws -> Response {
        let repository = try context.resolvedRepository().repository
        let ref = try context.parameters.get("ref").map { $0.removingPercentEncoding ?? $0 } ?? repository.defaultBranch ?? "HEAD"
        let wanted = try await archives.wanted(repository, ref: ref, format: format)
        guard let blob = try await archives.blob(repository, wanted) else {
            var response = try APIEncoding.response(
                ["message": "The archive \(wanted.savedAs) is being prepared; ask again in \(Self.retrySeconds) seconds."], status: .accepted)
            response.headers[.retryAfter] = String(Self.retrySeconds)
            return response
        }
        let user = context.caller.actor(in: repository)?.id
        return try await archives.downloads.redirect(to: blob, savedAs: wanted.savedAs, visitor: traffic.visitorID(request, context, user: user), actor: user)
    }
}

struct ArchivePendingView {
    let fileName: String
    let retrySeconds: Int
}
