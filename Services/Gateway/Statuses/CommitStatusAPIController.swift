import CairnModel
import CairnProtocol
import Foundation
import Hummingbird

/// GitHub's commit status API under `/api/v3/repos/{owner}/{repo}`: `POST statuses/{sha}`
/// (writers, and tokens that may write), `GET commits/{ref}/status` (combined) and
/// `GET commits/{ref}/statuses` (newest first; also `GET statuses/{ref}`) for readers.
struct CommitStatusAPIController: Sendable {
    let access: RepositoryAccess
    let service: CommitStatusService
    let content: RepositoryContent
    let baseURL: String

    struct Report: Decodable {
        let state: String
        let targetUrl: String?
        let description: String?
        let context: String?
    }

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let repos = router.group("/api/v3/repos/:owner/:repo")
        repos.repository(.write, access).post("statuses/:sha") { request, context in
            let repository = try context.resolvedRepository().repository
            let user = try PullRequestAPIController.writer(context)
            let input = try await APIEncoding.decode(Report.self, from: request, context: context)
            let report = CommitStatusReport(state: input.state, context: input.context, description: input.description, targetURL: input.targetUrl)
            let status = try await service.report(report, sha: try context.parameters.require("sha"), repository: repository, by: user)
            return try APIEncoding.response(APICommitStatus(status, repository: repository, creator: user, baseURL: baseURL), status: .created)
        }
        // `statuses/{ref}` shares its parameter's name with the route that reports.
        for path in ["commits/:ref/statuses", "statuses/:sha"] {
            repos.repository(.read, access).get(RouterPath(stringLiteral: path)) { request, context in
                let repository = try context.resolvedRepository().repository
                let page = try Pagination(request)
                let sha = try await content.commitID(repository, try context.parameters.get("ref") ?? context.parameters.require("sha"))
                let (shown, hasMore) = try await service.list(repository, sha: sha, page: page)
                return try APIEncoding.response(shown, headers: page.linkHeader(request, baseURL: baseURL, hasMore: hasMore))
            }
        }
        repos.repository(.read, access).get("commits/:ref/status") { _, context in
            let repository = try context.resolvedRepository().repository
            let sha = try await content.commitID(repository, try context.parameters.require("ref"))
            return try APIEncoding.response(try await service.combined(repository, sha: sha))
        }
    }
}
