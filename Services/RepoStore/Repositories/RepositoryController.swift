import CairnService
import CairnProtocol
import Foundation
import Hummingbird
import Logging
import Synchronization

/// Creates, lists and deletes bare repositories on disk, by id.
struct RepositoryController: Sendable {
    let locator: RepositoryLocator
    let git: Git
    /// Repositories whose maintenance runs now: a second run would find git's locks taken.
    private let maintaining = SharedSet()

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.put("/repos/:id") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            var initial: InitialCommit?
            if body.readableBytes > 0 {
                do {
                    initial = try CairnJSON.decode(InitialCommit.self, from: Data(body.readableBytesView))
                } catch {
                    throw HTTPError(.badRequest, message: "the body must be an initial commit as JSON: \(error)")
                }
            }
            var parent: Int64?
            if let text = request.uri.queryParameters["fork_of"] {
                guard let id = Int64(text), id > 0 else { throw HTTPError(.badRequest, message: "fork_of must be a repository id") }
                parent = id
            }
            return try await create(context.parameters.require("id"), initial: initial, forkOf: parent, context: context)
        }
        router.get("/repos") { _, _ in try Response.json(RepositoryListing(ids: locator.all())) }
        router.delete("/repos/:id") { _, context in try await delete(context.parameters.require("id"), context: context) }
        router.get("/repos/:id") { _, context in try await show(context.parameters.require("id")) }
        router.post("/repos/:id/maintenance") { _, context in try await maintain(context.parameters.require("id"), context: context) }
        router.put("/repos/:id/head") { request, context in
            try await setHead(context.parameters.require("id"), branch: request.uri.queryParameters["branch"].map(String.init) ?? "")
        }
    }

    /// `PUT /repos/{id}`: a new, empty bare repository with Cairn's hooks and settings.
    /// With `initial`, the repository starts with that one commit on `main`; with `forkOf`,
    /// it is a fork of that repository: its branches and tags, and its object files linked
    /// (`git clone --local` makes hard links), so a fork costs kilobytes, whatever the size
    /// of its parent, and a parent deleted later takes nothing of the fork with it.
    /// Idempotent for a repository that already exists (a retried create).
    func create(_ id: String, initial: InitialCommit?, forkOf parent: Int64? = nil, context: BasicRequestContext) async throws -> Response {
        let path = try locator.path(for: id)
        guard let number = Int64(id) else { throw RepoStoreError.invalidRepositoryID(id) }
        if locator.exists(number) {
            return Response(status: .ok)
        }
        if let parent, !locator.exists(parent) { throw HTTPError(.notFound, message: "No repository \(parent) to fork") }
        let staging = "\(locator.root)/.staging-\(id)-\(UUID().uuidString)"
        do {
            if let parent {
                try await git.run(["clone", "--bare", "--local", "--quiet", "--", locator.path(for: parent), staging], timeLimit: .seconds(300))
                try await git.run(["remote", "remove", "origin"], in: staging)
            } else {
                try await git.run(["init", "--quiet", "--bare", "--initial-branch=main", "--", staging])
            }
            for (key, value) in Self.settings(hooksPath: locator.hooksPath) {
                try await git.run(["config", key, value], in: staging)
            }
            if let initial { try await writeInitialCommit(initial, in: staging) }
            try FileManager.default.moveItem(atPath: staging, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        context.logger.info("repository.created", metadata: ["repo.id": "\(id)"])
        return Response(status: .created)
    }

    /// One commit holding one file, written with plumbing (no work tree).
    private func writeInitialCommit(_ initial: InitialCommit, in path: String) async throws {
        if let problem = GitInput.pathProblem(initial.path) { throw HTTPError(.badRequest, message: problem) }
        guard !initial.path.contains("/") else { throw HTTPError(.badRequest, message: "the first commit's file must be at the root") }
        let blob = try await git.run(["hash-object", "-w", "--stdin"], in: path, input: initial.content).trimmingCharacters(in: .whitespacesAndNewlines)
        let tree = try await git.run(["mktree"], in: path, input: "100644 blob \(blob)\t\(initial.path)\n").trimmingCharacters(in: .whitespacesAndNewlines)
        let identity = [
            "GIT_AUTHOR_NAME": initial.authorName, "GIT_AUTHOR_EMAIL": initial.authorEmail,
            "GIT_COMMITTER_NAME": initial.authorName, "GIT_COMMITTER_EMAIL": initial.authorEmail,
        ]
        let commit = try await git.run(["commit-tree", tree], in: path, environment: identity, input: initial.message).trimmingCharacters(in: .whitespacesAndNewlines)
        try await git.run(["update-ref", "refs/heads/main", commit, ""], in: path)
    }

    /// `DELETE /repos/{id}`: removes the repository's files; a missing one is already gone.
    func delete(_ id: String, context: BasicRequestContext) async throws -> Response {
        let path = try locator.path(for: id)
        guard FileManager.default.fileExists(atPath: path) else { return Response(status: .noContent) }
        // Rename first so a half-finished removal never looks like a repository.
        let doomed = "\(locator.root)/.deleting-\(id)-\(UUID().uuidString)"
        try FileManager.default.moveItem(atPath: path, toPath: doomed)
        try FileManager.default.removeItem(atPath: doomed)
        context.logger.info("repository.deleted", metadata: ["repo.id": "\(id)"])
        return Response(status: .noContent)
    }

    /// `GET /repos/{id}`: 200 when the repository exists, 404 otherwise.
    func show(_ id: String) async throws -> Response {
        _ = try locator.path(for: id)  // refuses ids that are not positive integers
        guard let number = Int64(id), locator.exists(number) else { throw RepoStoreError.notFound(Int64(id) ?? 0) }
        return Response(status: .ok)
    }

    /// `POST /repos/{id}/maintenance`: repacks with a reachability bitmap and writes the
    /// commit-graph, which is what keeps clones and history walks of big repositories fast.
    func maintain(_ id: String, context: BasicRequestContext) async throws -> Response {
        let path = try locator.path(for: id)
        guard let number = Int64(id), locator.exists(number) else { throw RepoStoreError.notFound(Int64(id) ?? 0) }
        guard maintaining.withLock({ $0.insert(number).inserted }) else {
            throw HTTPError(.conflict, message: "maintenance of repository \(number) is already running")
        }
        defer { maintaining.withLock { _ = $0.remove(number) } }
        let started = ContinuousClock.now
        try await git.run(["repack", "-a", "-d", "-q", "--write-bitmap-index"], in: path, timeLimit: .seconds(1800))
        try await git.run(["commit-graph", "write", "--reachable", "--changed-paths"], in: path, timeLimit: .seconds(1800))
        context.logger.info("repository.maintained", metadata: ["repo.id": "\(id)", "duration": "\(ContinuousClock.now - started)"])
        return Response(status: .noContent)
    }

    /// `PUT /repos/{id}/head?branch=…`: makes an existing branch the default (HEAD).
    func setHead(_ id: String, branch: String) async throws -> Response {
        let path = try locator.path(for: id)
        guard let number = Int64(id), locator.exists(number) else { throw RepoStoreError.notFound(Int64(id) ?? 0) }
        if let problem = GitInput.revisionProblem(branch) { throw HTTPError(.badRequest, message: problem) }
        guard (try? await git.run(["rev-parse", "--verify", "--quiet", "--end-of-options", "refs/heads/\(branch)^{commit}"], in: path)) != nil else {
            throw HTTPError(.unprocessableContent, message: "No branch named \(branch)")
        }
        try await git.run(["symbolic-ref", "HEAD", "refs/heads/\(branch)"], in: path)
        return Response(status: .noContent)
    }

    /// Settings every repository gets: objects checked on receipt, Cairn's hooks.
    static func settings(hooksPath: String) -> [(String, String)] {
        [
            ("receive.fsckObjects", "true"),
            ("core.hooksPath", hooksPath),
            ("http.receivepack", "true"),
            ("uploadpack.allowFilter", "true"),
            ("repack.writeBitmaps", "true"),
            ("core.commitGraph", "true"),
            ("gc.auto", "0"),
        ]
    }
}

/// A set shared by the copies of a controller.
final class SharedSet: Sendable {
    private let members = Mutex<Set<Int64>>([])

    func withLock<T>(_ body: (inout Set<Int64>) -> T) -> T { members.withLock { body(&$0) } }
}
