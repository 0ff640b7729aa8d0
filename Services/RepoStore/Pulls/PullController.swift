import CairnProtocol
import CairnService
import Foundation
import Hummingbird

/// The repository store's side of pull requests, in the base repository: `sync` keeps
/// `refs/pull/{n}/head` (fetched from a fork when the head lives there) and the test merge
/// `refs/pull/{n}/merge`, `merge` lands a pull request on its base branch, and `compare`
/// lists what a head brings. No working tree is ever made: merges are `git merge-tree`.
struct PullController: Sendable {
    let locator: RepositoryLocator
    let git: Git
    let merger: PullMerger

    func addRoutes(to router: Router<BasicRequestContext>) {
        let pulls = router.group("/repos/:id/pulls/:number")
        pulls.post("sync") { request, context in
            let (base, number) = try target(context)
            let asked = try await Self.decode(PullSyncRequest.self, request)
            try Self.checkBranch(asked.headRef, "headRef")
            try Self.checkBranch(asked.baseRef, "baseRef")
            // 0: the head repository was deleted.
            guard asked.headRepositoryID >= 0 else { throw HTTPError(.badRequest, message: "headRepositoryID must be a repository id, or 0 for none") }
            let head = asked.headRepositoryID > 0 && locator.exists(asked.headRepositoryID) ? locator.path(for: asked.headRepositoryID) : nil
            return try Response.json(try await merger.sync(base: base, number: number, headRepository: head, headRef: asked.headRef, baseRef: asked.baseRef))
        }
        pulls.post("merge") { request, context in
            let (base, number) = try target(context)
            let asked = try await Self.decode(PullMergeRequest.self, request)
            try Self.checkBranch(asked.baseRef, "baseRef")
            guard GitInput.isObjectID(asked.expectedHeadSHA) else { throw HTTPError(.badRequest, message: "expectedHeadSHA must be 40 hexadecimal digits") }
            let id = try context.parameters.require("id", as: Int64.self)
            return try Response.json(try await merger.merge(repository: id, path: base, number: number, asked))
        }
        router.post("/repos/:id/branches/delete") { request, context in
            let id = try context.parameters.require("id")
            let path = try locator.path(for: id)
            guard let repository = Int64(id), locator.exists(repository) else { throw RepoStoreError.notFound(Int64(id) ?? 0) }
            let asked = try await Self.decode(BranchDeletion.self, request)
            try Self.checkBranch(asked.branch, "branch")
            guard GitInput.isObjectID(asked.expectedSHA) else { throw HTTPError(.badRequest, message: "expectedSHA must be 40 hexadecimal digits") }
            try await merger.deleteBranch(asked.branch, at: asked.expectedSHA, repository: repository, pusher: asked.pusherID, rules: asked.rules, in: path)
            return Response(status: .noContent)
        }
        router.get("/repos/:id/compare") { request, context in
            let id = try context.parameters.require("id")
            let path = try locator.path(for: id)
            guard let number = Int64(id), locator.exists(number) else { throw RepoStoreError.notFound(Int64(id) ?? 0) }
            let query = request.uri.queryParameters
            guard let base = query["base"].map(String.init), let head = query["head"].map(String.init),
                  [base, head].allSatisfy({ GitInput.isObjectID($0) || ($0.hasPrefix("refs/") && GitInput.revisionProblem($0) == nil) }) else {
                throw HTTPError(.badRequest, message: "base and head must be commit ids or full ref names")
            }
            let lines = try QueryNumber.read(request, "context", in: 0...BrowseController.maxContextLines, default: 3)
            for name in [base, head] where !(try await git.attempt(["rev-parse", "--verify", "--quiet", "--end-of-options", name + "^{commit}"], in: path).succeeded) {
                throw HTTPError(.notFound, message: "No commit found for \(name)")
            }
            return try Response.json(try await RepositoryReader(git: git, path: path).compare(base: base, head: head, context: lines))
        }
    }

    /// The base repository's path and the pull request's number.
    private func target(_ context: BasicRequestContext) throws -> (String, Int64) {
        let id = try context.parameters.require("id")
        let path = try locator.path(for: id)
        guard let repository = Int64(id), locator.exists(repository) else { throw RepoStoreError.notFound(Int64(id) ?? 0) }
        guard let number = Int64(try context.parameters.require("number")), number > 0, number < 1 << 40 else {
            throw HTTPError(.badRequest, message: "a pull request's number must be a positive integer")
        }
        return (path, number)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let body = try await request.body.collect(upTo: 1 << 20)
        do {
            return try CairnJSON.decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: "the body must be JSON of a \(T.self): \(error)")
        }
    }

    private static func checkBranch(_ name: String, _ field: String) throws {
        if let problem = GitInput.revisionProblem(name) { throw HTTPError(.badRequest, message: "\(field): \(problem)") }
    }
}
