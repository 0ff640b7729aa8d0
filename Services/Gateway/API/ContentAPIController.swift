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
    let repostore: InternalClient
    let baseURL: String
    /// Files larger than this come back from the contents API without their content.
    static let maxInlineBytes = 1 << 20

    func addRoutes(to router: Router<BasicRequestContext>) {
        let repo = router.group("/api/v3/repos/:owner/:repo")
        repo.get("branches") { request, context in
            let (repository, _) = try await access.require(.read, request, context)
            let refs = try await refs(repository)
            let page = Pagination(request)
            let branches = refs.branches.sorted { $0.name < $1.name }
            let shown = branches.dropFirst(page.offset).prefix(page.perPage).map { branch($0, repository) }
            return try APIEncoding.response(Array(shown), headers: page.linkHeader(request, baseURL: baseURL, hasMore: branches.count > page.offset + page.perPage))
        }
        repo.get("branches/:branch") { request, context in
            let (repository, _) = try await access.require(.read, request, context)
            let name = try context.parameters.require("branch")
            guard let found = try await refs(repository).branches.first(where: { $0.name == name }) else { throw GatewayError.notFound }
            return try APIEncoding.response(branch(found, repository))
        }
        repo.get("tags") { request, context in
            let (repository, _) = try await access.require(.read, request, context)
            let page = Pagination(request)
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
            let (repository, _) = try await access.require(.read, request, context)
            let query = request.uri.queryParameters
            let page = Pagination(request)
            let ref = try checked(revision: query["sha"].map(String.init) ?? defaultRevision(repository))
            let path = try checked(path: query["path"].map(String.init) ?? "")
            let commits = try await fetch([GitCommit].self, repository, "commits", ["ref": ref, "path": path, "limit": String(page.perPage + 1), "skip": String(page.offset)])
            let shown = commits.prefix(page.perPage).map { APICommit($0, repository: repository, baseURL: baseURL) }
            return try APIEncoding.response(Array(shown), headers: page.linkHeader(request, baseURL: baseURL, hasMore: commits.count > page.perPage))
        }
        repo.get("commits/:ref") { request, context in
            let (repository, _) = try await access.require(.read, request, context)
            let ref = try checked(revision: context.parameters.require("ref"))
            let detail = try await fetch(GitCommitDetail.self, repository, "commit", ["ref": ref])
            return try APIEncoding.response(APICommit(detail.commit, repository: repository, baseURL: baseURL, files: detail.files))
        }
        repo.get("contents") { request, context in try await contents(request, context, path: "") }
        repo.get("contents/**") { request, context in
            try await contents(request, context, path: context.parameters.getCatchAll().joined(separator: "/"))
        }
        repo.get("readme") { request, context in
            let (repository, _) = try await access.require(.read, request, context)
            let ref = try checked(revision: request.uri.queryParameters["ref"].map(String.init) ?? defaultRevision(repository))
            let entries = try await fetch([GitTreeEntry].self, repository, "tree", ["ref": ref, "path": ""])
            guard let readme = Self.readme(in: entries) else { throw GatewayError.notFound }
            return try APIEncoding.response(try await file(readme, directory: "", repository: repository, ref: ref))
        }
        repo.get("git/trees/:sha") { request, context in
            let (repository, _) = try await access.require(.read, request, context)
            let sha = try checked(revision: context.parameters.require("sha"))
            let recursive = request.uri.queryParameters["recursive"].map { $0 != "0" && $0 != "false" } ?? false
            let entries = try await fetch([GitTreeEntry].self, repository, "tree", ["ref": sha, "path": "", "recursive": recursive ? "1" : "0"])
            let info = try await fetch(GitObjectInfo.self, repository, "object", ["ref": sha, "path": ""])
            let tree = entries.map { entry in
                APITree.Entry(path: entry.path, mode: entry.mode, type: entry.type, sha: entry.sha, size: entry.size,
                              url: "\(api(repository))/git/\(entry.type == "tree" ? "trees" : "blobs")/\(entry.sha)")
            }
            return try APIEncoding.response(APITree(sha: info.sha, url: "\(api(repository))/git/trees/\(info.sha)", tree: tree, truncated: false))
        }
    }

    /// README.md, README, README.txt … at the root, in GitHub's order of preference.
    static func readme(in entries: [GitTreeEntry]) -> GitTreeEntry? {
        let files = entries.filter { $0.type == "blob" && $0.path.lowercased().hasPrefix("readme") }
        for preferred in ["readme.md", "readme.markdown", "readme", "readme.txt", "readme.rst"] {
            if let match = files.first(where: { $0.path.lowercased() == preferred }) { return match }
        }
        return files.first
    }

    private func contents(_ request: Request, _ context: BasicRequestContext, path rawPath: String) async throws -> Response {
        let (repository, _) = try await access.require(.read, request, context)
        let path = try checked(path: rawPath)
        let ref = try checked(revision: request.uri.queryParameters["ref"].map(String.init) ?? defaultRevision(repository))
        // Most requests are for directories: try the listing first, the file after.
        var isDirectory = path.isEmpty
        if !isDirectory { isDirectory = try await fetch(GitObjectInfo.self, repository, "object", ["ref": ref, "path": path]).type == "tree" }
        if isDirectory {
            let entries = try await fetch([GitTreeEntry].self, repository, "tree", ["ref": ref, "path": path])
            return try APIEncoding.response(entries.map { APIContent(entry: $0, directory: path, repository: repository, ref: ref, baseURL: baseURL) })
        }
        let directory = path.split(separator: "/").dropLast().joined(separator: "/")
        let name = String(path.split(separator: "/").last ?? "")
        let entries = try await fetch([GitTreeEntry].self, repository, "tree", ["ref": ref, "path": directory])
        guard let entry = entries.first(where: { $0.path == name }) else { throw GatewayError.notFound }
        return try APIEncoding.response(try await file(entry, directory: directory, repository: repository, ref: ref))
    }

    private func file(_ entry: GitTreeEntry, directory: String, repository: Repository, ref: String) async throws -> APIContent {
        var content: Data?
        if entry.type == "blob", (entry.size ?? 0) <= Self.maxInlineBytes {
            let response = try await repostore.send(.GET, "/repos/\(repository.id)/blob/\(entry.sha)", timeout: .seconds(30))
            let body = try await response.body.collect(upTo: Self.maxInlineBytes + 1)
            guard response.status == .ok else { throw GatewayError.notFound }
            content = Data(body.readableBytesView)
        }
        return APIContent(entry: entry, directory: directory, repository: repository, ref: ref, baseURL: baseURL, content: content)
    }

    private func branch(_ ref: GitRef, _ repository: Repository) -> APIBranch {
        APIBranch(name: ref.name, commit: .init(sha: ref.sha, url: "\(api(repository))/commits/\(ref.sha)"))
    }

    private func api(_ repository: Repository) -> String { "\(baseURL)/api/v3/repos/\(repository.fullName)" }


    private func refs(_ repository: Repository) async throws -> GitRefs {
        try await fetch(GitRefs.self, repository, "refs", [:])
    }

    private func defaultRevision(_ repository: Repository) -> String { repository.defaultBranch ?? "HEAD" }

    /// Asks the repository store; its 404 (no such ref or path) is the API's 404.
    private func fetch<T: Decodable>(_ type: T.Type, _ repository: Repository, _ endpoint: String, _ query: [String: String]) async throws -> T {
        let encoded = query.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.percentEncode($0.value))" }.joined(separator: "&")
        let path = "/repos/\(repository.id)/\(endpoint)" + (encoded.isEmpty ? "" : "?\(encoded)")
        do {
            guard let value = try await repostore.getJSON(T.self, path) else { throw GatewayError.notFound }
            return value
        } catch InternalCallError.refused(_, let status, let message) where status == 400 {
            throw GatewayError.invalid(message)
        }
    }

    private func checked(revision: String) throws -> String {
        if let problem = GitInput.revisionProblem(revision) { throw GatewayError.invalid(problem) }
        return revision
    }

    private func checked(path: String) throws -> String {
        if let problem = GitInput.pathProblem(path) { throw GatewayError.invalid(problem) }
        return path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
