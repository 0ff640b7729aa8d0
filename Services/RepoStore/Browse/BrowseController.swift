import CairnService
import CairnProtocol
import Foundation
import Hummingbird
import NIOCore

/// The repository store's JSON API for reading a repository: refs, history, one commit with
/// its diff, the commits a push brought, trees, object info, commit count, size and
/// languages, raw blobs and `git archive` of a commit (both streamed).
struct BrowseController: Sendable {
    let locator: RepositoryLocator
    let git: Git
    let highlighter: Highlighter

    /// How many of a directory's newest commits `last-commits` reads: entries changed only
    /// before them show no last commit (a bound on the time a page may take to render).
    static let lastCommitsDepth = 2000
    /// The most unchanged lines a diff may show around each change: more than any file the
    /// pages show whole.
    static let maxContextLines = 1_000_000

    func addRoutes(to router: Router<BasicRequestContext>) {
        let repo = router.group("/repos/:id")
        repo.get("refs") { _, context in try Response.json(try await reader(context).refs()) }
        repo.get("commits") { request, context in
            let query = request.uri.queryParameters
            let revision = try checkedRevision(query["ref"].map(String.init) ?? "HEAD")
            let file = try checkedPath(query["path"].map(String.init) ?? "")
            let limit = try QueryNumber.readClamped(request, "limit", in: 1...1000, default: 30)
            let skip = try QueryNumber.read(request, "skip", in: 0...100_000_000, default: 0)
            let reader = try reader(context)
            do {
                return try Response.json(try await reader.log(revision: revision, file: file, limit: limit, skip: skip))
            } catch RepoStoreError.gitFailed {
                throw HTTPError(.notFound, message: "No commit found for \(revision)")
            }
        }
        repo.get("commit") { request, context in
            let revision = try checkedRevision(request.uri.queryParameters["ref"].map(String.init) ?? "HEAD")
            let lines = try QueryNumber.read(request, "context", in: 0...Self.maxContextLines, default: 3)
            let reader = try reader(context)
            guard try await reader.object(revision: revision, file: "") != nil, let detail = try await reader.commit(revision, context: lines) else {
                throw HTTPError(.notFound, message: "No commit found for \(revision)")
            }
            return try Response.json(detail)
        }
        router.post("/highlight") { request, _ in
            let body = try await request.body.collect(upTo: HighlightRequest.maxBytes + 4096)
            guard let asked = try? JSONDecoder().decode(HighlightRequest.self, from: Data(body.readableBytesView)) else {
                throw HTTPError(.badRequest, message: "The body must be a JSON object {\"items\": [{\"lexer\", \"text\"}]}.")
            }
            return try Response.json(HighlightResponse(items: await highlighter.highlight(asked.items)))
        }
        repo.get("tree") { request, context in
            let query = request.uri.queryParameters
            let revision = try checkedRevision(query["ref"].map(String.init) ?? "HEAD")
            let directory = try checkedPath(query["path"].map(String.init) ?? "")
            do {
                return try Response.json(try await reader(context).tree(revision: revision, directory: directory, recursive: query["recursive"] == "1"))
            } catch RepoStoreError.gitFailed {
                throw HTTPError(.notFound, message: "No tree at \(revision):\(directory)")
            }
        }
        repo.get("last-commits") { request, context in
            let query = request.uri.queryParameters
            let revision = try checkedRevision(query["ref"].map(String.init) ?? "HEAD")
            let directory = try checkedPath(query["path"].map(String.init) ?? "")
            do {
                return try Response.json(try await reader(context).lastCommits(revision: revision, directory: directory, limit: Self.lastCommitsDepth))
            } catch RepoStoreError.gitFailed {
                throw HTTPError(.notFound, message: "No commit found for \(revision)")
            }
        }
        repo.get("stats") { request, context in
            let revision = try checkedRevision(request.uri.queryParameters["ref"].map(String.init) ?? "HEAD")
            do {
                return try Response.json(try await reader(context).stats(revision: revision))
            } catch RepoStoreError.gitFailed {
                throw HTTPError(.notFound, message: "No commit found for \(revision)")
            }
        }
        repo.get("pushed") { request, context in
            let query = request.uri.queryParameters
            let ref = String(query["ref"] ?? "")
            guard let before = query["before"].map(String.init), let after = query["after"].map(String.init),
                  [before, after].allSatisfy({ $0.count == 40 && $0.allSatisfy(\.isHexDigit) }) else {
                throw HTTPError(.badRequest, message: "before and after must be 40 hexadecimal digits")
            }
            guard ref.hasPrefix("refs/"), GitInput.revisionProblem(ref) == nil else { throw HTTPError(.badRequest, message: "ref must be a full ref name such as refs/heads/main") }
            let limit = try QueryNumber.readClamped(request, "limit", in: 1...2048, default: 20)
            do {
                return try Response.json(try await reader(context).pushedCommits(ref: ref, before: before, after: after, limit: limit))
            } catch RepoStoreError.gitFailed {
                throw HTTPError(.notFound, message: "No commits between \(before) and \(after)")
            }
        }
        repo.get("languages") { request, context in
            let revision = try checkedRevision(request.uri.queryParameters["ref"].map(String.init) ?? "HEAD")
            do {
                return try Response.json(try await reader(context).languages(revision: revision))
            } catch RepoStoreError.gitFailed {
                throw HTTPError(.notFound, message: "No tree at \(revision)")
            }
        }
        repo.get("blame") { request, context in
            let query = request.uri.queryParameters
            let revision = try checkedRevision(query["ref"].map(String.init) ?? "HEAD")
            let file = try checkedPath(query["path"].map(String.init) ?? "")
            guard !file.isEmpty else { throw HTTPError(.badRequest, message: "path must name a file") }
            do {
                guard let blame = try await reader(context).blame(revision: revision, file: file) else {
                    throw HTTPError(.notFound, message: "No commit found for \(revision)")
                }
                return try Response.json(blame)
            } catch RepoStoreError.gitFailed {
                throw HTTPError(.notFound, message: "No file \(file) at \(revision)")
            }
        }
        repo.get("object") { request, context in
            let query = request.uri.queryParameters
            let revision = try checkedRevision(query["ref"].map(String.init) ?? "HEAD")
            let file = try checkedPath(query["path"].map(String.init) ?? "")
            guard let info = try await reader(context).object(revision: revision, file: file) else {
                throw HTTPError(.notFound, message: "Nothing at \(revision):\(file)")
            }
            return try Response.json(info)
        }
        repo.get("archive") { request, context in
            let query = request.uri.queryParameters
            guard let commit = query["commit"].map(String.init), commit.count == 40, commit.allSatisfy(\.isHexDigit) else {
                throw HTTPError(.badRequest, message: "commit must be 40 hexadecimal digits")
            }
            guard let format = query["format"].map(String.init), ArchiveFormat(rawValue: format) != nil else {
                throw HTTPError(.badRequest, message: "format must be tar.gz or zip")
            }
            let prefix = String(query["prefix"] ?? "")
            if let problem = ArchiveFormat.prefixProblem(prefix) { throw HTTPError(.badRequest, message: problem) }
            let reader = try reader(context)
            guard try await reader.object(revision: commit, file: "") != nil else {
                throw HTTPError(.notFound, message: "No commit \(commit)")
            }
            return try stream(["archive", "--format=\(format)", "--prefix=\(prefix)/", commit], in: reader.path)
        }
        repo.get("blob/:sha") { _, context in
            let sha = try context.parameters.require("sha")
            guard sha.count == 40, sha.allSatisfy(\.isHexDigit) else { throw HTTPError(.badRequest, message: "blob id must be 40 hexadecimal digits") }
            let reader = try reader(context)
            guard let info = try await reader.object(revision: sha, file: ""), info.type == "blob" else {
                throw HTTPError(.notFound, message: "No blob \(sha)")
            }
            return try stream(["cat-file", "blob", sha], in: reader.path)
        }
    }

    private func reader(_ context: BasicRequestContext) throws -> RepositoryReader {
        let id = try context.parameters.require("id")
        let path = try locator.path(for: id)
        guard let number = Int64(id), locator.exists(number) else { throw RepoStoreError.notFound(Int64(id) ?? 0) }
        return RepositoryReader(git: git, path: path)
    }

    private func checkedRevision(_ revision: String) throws -> String {
        if let problem = GitInput.revisionProblem(revision) { throw HTTPError(.badRequest, message: problem) }
        return revision
    }

    private func checkedPath(_ path: String) throws -> String {
        if let problem = GitInput.pathProblem(path) { throw HTTPError(.badRequest, message: problem) }
        return path.hasSuffix("/") ? String(path.dropLast()) : path
    }


    /// Streams a git command's standard output as the response body. If git fails after the
    /// answer began, the body is cut off (no clean end), so the reader cannot take a partial
    /// body for a whole one.
    private func stream(_ arguments: [String], in directory: String) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: ResponseBody { [git] writer in
            let exit = try await git.stream(arguments, in: directory, timeLimit: Self.downloadLimit) { _, output in
                while let chunk = try await output.read() { try await writer.write(chunk) }
            }
            guard exit.succeeded else { throw RepoStoreError.gitFailed(command: "git \(arguments.first ?? "")", status: exit.status, stderr: exit.stderr) }
            try await writer.finish(nil)
        })
    }

    /// How long a download (a blob, an archive) may stream.
    static let downloadLimit: Duration = .seconds(1800)
}
