import CairnModel
import CairnProtocol
import CairnService
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import AsyncHTTPClient

/// The read side of a repository in GitHub's shapes: branches, tags, commits (with files and
/// patches), contents, the README and trees. The data comes from the repository store.
struct ContentAPIController: Sendable {
    let access: RepositoryAccess
    let content: RepositoryContent
    let protections: BranchProtectionStore
    let baseURL: String

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let repo = router.group("/api/v3/repos/:owner/:repo").repository(.read, access)
        repo.get("branches") { request, context in
            let repository = try context.resolvedRepository().repository
            let refs = try await refs(repository)
            let page = try Pagination(request)
            let rules = try await protections.list(repositoryID: repository.id)
            var branches = refs.branches.sorted { $0.name < $1.name }
            // GitHub's `protected=true|false` filter.
            if let wanted = request.uri.queryParameters["protected"] {
                guard let only = ["true": true, "false": false][String(wanted)] else { throw GatewayError.invalid("protected must be true or false") }
                branches = branches.filter { branch in rules.contains { $0.matches(branch.name) } == only }
            }
            let shown = branches.dropFirst(page.offset).prefix(page.perPage).map { branch($0, repository, rules: rules) }
            return try APIEncoding.response(Array(shown), headers: page.linkHeader(request, baseURL: baseURL, hasMore: branches.count > page.offset + page.perPage))
        }
        repo.get("branches/:branch") { request, context in
            let repository = try context.resolvedRepository().repository
            let raw = try context.parameters.require("branch")
            let name = raw.removingPercentEncoding ?? raw  // release%2Fv1 names release/v1
            guard let found = try await refs(repository).branches.first(where: { $0.name == name }) else { throw GatewayError.notFound }
            return try APIEncoding.response(branch(found, repository, rules: try await protections.list(repositoryID: repository.id)))
        }
        repo.get("tags") { request, context in
            let repository = try context.resolvedRepository().repository
            let page = try Pagination(request)
            let tags = try await refs(repository).tags.sorted { $0.name > $1.name }
            let shown = tags.dropFirst(page.offset).prefix(page.perPage).map { tag in
                APITag(
                    name: tag.name, commit: .init(sha: tag.commit, url: "\(api(repository))/commits/\(tag.commit)"),
                    zipballUrl: "\(baseURL)/\(repository.fullName)/archive/\(tag.name).zip",
                    tarballUrl: "\(baseURL)/\(repository.fullName)/archive/\(tag.name).tar.gz")
            }
            return try APIEncoding.response(Array(shown), headers: page.linkHeader(request, baseURL: baseURL, hasMore: tags.count > page.offset + page.perPage))
        }
        repo.get("commits") { request, context in
            let repository = try context.resolvedRepository().repository
            let query = request.uri.queryParameters
            let page = try Pagination(request)
            let ref = try checked(revision: query["sha"].map(String.init) ?? defaultRevision(repository))
            let path = try checked(path: query["path"].map(String.init) ?? "")
            let commits = try await content.commits(repository, ref: ref, path: path, limit: page.perPage + 1, skip: page.offset)
            let shown = commits.prefix(page.perPage).map { APICommit($0, repository: repository, baseURL: baseURL) }
            return try APIEncoding.response(Array(shown), headers: page.linkHeader(request, baseURL: baseURL, hasMore: commits.count > page.perPage))
        }
        repo.get("commits/:ref") { request, context in
            let repository = try context.resolvedRepository().repository
            let ref = try checked(revision: context.parameters.require("ref"))
            let detail = try await content.commit(repository, ref: ref)
            return try APIEncoding.response(APICommit(detail.commit, repository: repository, baseURL: baseURL, files: detail.files))
        }
        repo.get("contents") { request, context in try await contents(request, context, path: "") }
        repo.get("contents/**") { request, context in
            try await contents(request, context, path: context.parameters.getCatchAll().joined(separator: "/"))
        }
        repo.get("readme") { request, context in
            let repository = try context.resolvedRepository().repository
            let ref = try checked(revision: request.uri.queryParameters["ref"].map(String.init) ?? defaultRevision(repository))
            let entries = try await content.tree(repository, ref: ref, path: "")
            guard let readme = RepositoryContent.readme(in: entries) else { throw GatewayError.notFound }
            return try APIEncoding.response(try await file(readme, directory: "", repository: repository, ref: ref))
        }
        repo.get("git/trees/:sha") { request, context in
            let repository = try context.resolvedRepository().repository
            let sha = try checked(revision: context.parameters.require("sha"))
            let recursive = request.uri.queryParameters["recursive"].map { $0 != "0" && $0 != "false" } ?? false
            let entries = try await content.tree(repository, ref: sha, path: "", recursive: recursive)
            let info = try await content.object(repository, ref: sha, path: "")
            let tree = entries.map { entry in
                APITree.Entry(path: entry.path, mode: entry.mode, type: entry.type, sha: entry.sha, size: entry.size,
                              url: "\(api(repository))/git/\(entry.type == "tree" ? "trees" : "blobs")/\(entry.sha)")
            }
            return try APIEncoding.response(APITree(sha: info.sha, url: "\(api(repository))/git/trees/\(info.sha)", tree: tree, truncated: false))
        }
    }

    private func contents(_ request: Request, _ context: GatewayContext, path rawPath: String) async throws -> Response {
        let repository = try context.resolvedRepository().repository
        let path = try checked(path: rawPath)
        let ref = try checked(revision: request.uri.queryParameters["ref"].map(String.init) ?? defaultRevision(repository))
        // Most requests are for directories: try the listing first, the file after.
        var isDirectory = path.isEmpty
        if !isDirectory { isDirectory = try await content.object(repository, ref: ref, path: path).type == "tree" }
        if isDirectory {
            let entries = try await content.tree(repository, ref: ref, path: path)
            return try APIEncoding.response(entries.map { APIContent(entry: $0, directory: path, repository: repository, ref: ref, baseURL: baseURL) })
        }
        let directory = path.split(separator: "/").dropLast().joined(separator: "/")
        let name = String(path.split(separator: "/").last ?? "")
        let entries = try await content.tree(repository, ref: ref, path: directory)
        guard let entry = entries.first(where: { $0.path == name }) else { throw GatewayError.notFound }
        return try APIEncoding.response(try await file(entry, directory: directory, repository: repository, ref: ref))
    }

    private func file(_ entry: GitTreeEntry, directory: String, repository: Repository, ref: String) async throws -> APIContent {
        var bytes: Data?
        if entry.type == "blob", (entry.size ?? 0) <= RepositoryContent.maxInlineBytes {
            bytes = try await content.blob(repository, sha: entry.sha)
        }
        return APIContent(entry: entry, directory: directory, repository: repository, ref: ref, baseURL: baseURL, content: bytes)
    }

    /// A branch as GitHub shows it; `protected` when a rule of `rules` names it.
    private func branch(_ ref: GitRef, _ repository: Repository, rules: [BranchRule]) -> APIBranch {
        APIBranch(name: ref.name, commit: .init(sha: ref.sha, url: "\(api(repository))/commits/\(ref.sha)"), protected: rules.contains { $0.matches(ref.name) })
    }

    private func api(_ repository: Repository) -> String { "\(baseURL)/api/v3/repos/\(repository.fullName)" }

    private func refs(_ repository: Repository) async throws -> GitRefs {
        try await content.refs(repository)
    }

    private func defaultRevision(_ repository: Repository) -> String { repository.defaultBranch ?? "HEAD" }

    private func checked(revision: String) throws -> String {
        if let problem = GitInput.revisionProblem(revision) { throw GatewayError.invalid(problem) }
        return revision
    }

    private func checked(path: String) throws -> String {
        if let problem = GitInput.pathProblem(path) { throw GatewayError.invalid(problem) }
        return path.hasSuffix("/") ? String(path.dropLast()) : path
    }

}
