import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import Foundation
import NIOCore
import NIOHTTP1

/// The gateway's reader of repository contents: the repository store's JSON API (refs,
/// history, commits, trees, objects, stats, blobs), with its 404 mapped to the gateway's
/// and its 400 (a bad revision or path) to 422. The API and the pages both read through it.
struct RepositoryContent: Sendable {
    let repostore: InternalClient
    /// Blobs larger than this are not fetched whole.
    static let maxInlineBytes = 1 << 20

    func refs(_ repository: Repository) async throws -> GitRefs {
        try await fetch(GitRefs.self, repository, "refs", [:])
    }

    /// The commit `name` (a branch, a tag, or a full commit id) is at; 404 when it names none.
    func commitID(_ repository: Repository, _ name: String) async throws -> String {
        guard GitInput.revisionProblem(name) == nil else { throw GatewayError.notFound }
        let refs = try await refs(repository)
        if let branch = refs.branches.first(where: { $0.name == name }) { return branch.sha }
        if let tag = refs.tags.first(where: { $0.name == name }) { return tag.sha }
        guard GitInput.isObjectID(name) else { throw GatewayError.notFound }
        return name.lowercased()
    }

    /// The commit `sha`, when the repository has it.
    func findCommit(_ repository: Repository, sha: String) async throws -> GitCommit? {
        guard GitInput.isObjectID(sha) else { return nil }
        do {
            return try await commits(repository, ref: sha, path: "", limit: 1, skip: 0).first.flatMap { $0.sha == sha.lowercased() ? $0 : nil }
        } catch GatewayError.notFound {
            return nil
        } catch GatewayError.invalid {
            return nil
        }
    }

    func commits(_ repository: Repository, ref: String, path: String, limit: Int, skip: Int) async throws -> [GitCommit] {
        try await fetch([GitCommit].self, repository, "commits", ["ref": ref, "path": path, "limit": String(limit), "skip": String(skip)])
    }

    /// One commit with its diff, `context` unchanged lines around each change.
    func commit(_ repository: Repository, ref: String, context: Int = 3) async throws -> GitCommitDetail {
        try await fetch(GitCommitDetail.self, repository, "commit", ["ref": ref, "context": String(context)])
    }

    /// Who last changed each line of the file `path` at `ref`.
    /// The commits of `head` that `base` lacks and the files changed since their merge base
    /// (both commit ids or full ref names).
    func compare(_ repository: Repository, base: String, head: String, context: Int = 3) async throws -> GitComparison {
        try await fetch(GitComparison.self, repository, "compare", ["base": base, "head": head, "context": String(context)])
    }

    func blame(_ repository: Repository, ref: String, path: String) async throws -> GitBlame {
        try await fetch(GitBlame.self, repository, "blame", ["ref": ref, "path": path])
    }

    func tree(_ repository: Repository, ref: String, path: String, recursive: Bool = false) async throws -> [GitTreeEntry] {
        var query = ["ref": ref, "path": path]
        if recursive { query["recursive"] = "1" }
        return try await fetch([GitTreeEntry].self, repository, "tree", query)
    }

    /// The newest commit that changed each entry of the directory `path` at `ref`, by name.
    func lastCommits(_ repository: Repository, ref: String, path: String) async throws -> [String: GitLastCommit] {
        try await fetch([String: GitLastCommit].self, repository, "last-commits", ["ref": ref, "path": path])
    }

    func object(_ repository: Repository, ref: String, path: String) async throws -> GitObjectInfo {
        try await fetch(GitObjectInfo.self, repository, "object", ["ref": ref, "path": path])
    }

    func stats(_ repository: Repository, ref: String) async throws -> GitRepositoryStats {
        try await fetch(GitRepositoryStats.self, repository, "stats", ["ref": ref])
    }

    /// Points HEAD at `branch`; 422 when the repository has no such branch.
    func setDefaultBranch(_ repository: Repository, _ branch: String) async throws {
        if let problem = GitInput.revisionProblem(branch) { throw GatewayError.invalid("default_branch: \(problem)") }
        do {
            try await repostore.expectSuccess(.PUT, "/repos/\(repository.id)/head?branch=\(InternalClient.percentEncode(branch))")
        } catch InternalCallError.refused(_, let status, _) where status == 422 {
            throw GatewayError.invalid("default_branch: there is no branch named \(branch)")
        }
    }

    /// The bytes of blob `sha`, or nil when it is larger than `limit`.
    func blob(_ repository: Repository, sha: String, limit: Int = maxInlineBytes) async throws -> Data? {
        let response = try await repostore.send(.GET, "/repos/\(repository.id)/blob/\(sha)", timeout: .seconds(30))
        guard response.status == .ok else { throw GatewayError.notFound }
        do {
            return Data(try await response.body.collect(upTo: limit).readableBytesView)
        } catch is NIOTooManyBytesError {
            return nil
        }
    }

    /// README.md, README, README.txt … in `entries`, in GitHub's order of preference.
    static func readme(in entries: [GitTreeEntry]) -> GitTreeEntry? {
        let files = entries.filter { $0.type == "blob" && $0.path.lowercased().hasPrefix("readme") }
        for preferred in ["readme.md", "readme.markdown", "readme", "readme.txt", "readme.rst"] {
            if let match = files.first(where: { $0.path.lowercased() == preferred }) { return match }
        }
        return files.first
    }

    /// Asks the repository store; its 404 (no such ref or path) is the gateway's 404.
    private func fetch<T: Decodable>(_ type: T.Type, _ repository: Repository, _ endpoint: String, _ query: [String: String]) async throws -> T {
        let encoded = InternalClient.query(query)
        let path = "/repos/\(repository.id)/\(endpoint)" + (encoded.isEmpty ? "" : "?\(encoded)")
        do {
            guard let value = try await repostore.getJSON(T.self, path) else { throw GatewayError.notFound }
            return value
        } catch InternalCallError.refused(_, let status, let message) where status == 400 {
            throw GatewayError.invalid(message)
        }
    }
}
