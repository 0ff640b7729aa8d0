import CairnModel
import CairnProtocol
import CairnService
import Foundation
import Logging
import NIOCore

/// After a push: brings every open pull request whose head or base branch it moved up to
/// date (`refs/pull/{n}/head`, the test merge and mergeability), sends `synchronize` when a
/// head moved, and closes, with a comment saying why, one whose head or base branch is gone
/// or whose head repository became private while the base is public (its commits are no
/// longer copied into the base). Run twice for one push it changes nothing more: events are
/// keyed by task and pull request, and the second sync finds the same heads. One pull request
/// that cannot be synced does not stop the others; the task then fails, to be tried again.
/// A pull request whose every commit a push brought onto its base branch is marked merged by
/// the pusher, as on GitHub: a merge on the command line, or a merge through Cairn whose
/// recording was cut short (the base moved, then the gateway lost PostgreSQL).
struct PullRequestSync: Sendable {
    let pulls: PullRequestStore
    let repositories: RepositoryStore
    let events: PullRequestEvents
    let repostore: InternalClient
    let logger: Logger

    func afterPush(_ task: TaskEnvelope, repository: Repository, updates: [RefUpdate], pusher: User?) async throws {
        let branches = updates.filter { $0.ref.hasPrefix("refs/heads/") }.map { String($0.ref.dropFirst("refs/heads/".count)) }
        var failure: (any Error)?
        for pull in try await pulls.openPulls(repositoryID: repository.id, branches: branches) {
            do {
                try await sync(pull, task: task, pushed: repository, updates: updates, pusher: pusher)
            } catch {
                logger.warning("pull.sync_failed", metadata: ["pull.id": "\(pull.id)", "error": "\(error)"])
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }

    private func sync(_ pull: PullRequest, task: TaskEnvelope, pushed repository: Repository, updates: [RefUpdate], pusher: User?) async throws {
        guard let base = pull.repositoryID == repository.id ? repository : try await repositories.find(id: pull.repositoryID) else { return }
        let head = pull.headRepositoryID == repository.id ? repository : try await pull.headRepositoryID.asyncMap { try await repositories.find(id: $0) } ?? nil
        if let head, head.id != base.id, head.isPrivate, !base.isPrivate {
            try await close(pull, base: base, reason: "The head repository \(head.fullName) became private", task: task, pusher: pusher)
            return
        }
        let state = try await repostore.postJSON(
            PullSyncState.self, "/repos/\(base.id)/pulls/\(pull.number)/sync",
            json: PullSyncRequest(headRepositoryID: head?.id ?? 0, headRef: pull.headRef, baseRef: pull.baseRef), timeout: .minutes(10))
        var synced = pull
        synced.apply(state)
        if state.headSHA == nil || state.baseSHA == nil {
            try await pulls.recordSync(pull.id, state)
            let gone = state.headSHA == nil ? "head branch \(pull.headRef)" : "base branch \(pull.baseRef)"
            try await close(pull, base: base, reason: "The \(gone) was deleted", task: task, pusher: pusher)
            return
        }
        // The event is queued before the sync is recorded: a retry after a failed enqueue
        // still sees the head move (and the key makes a second delivery none).
        if synced.headSHA != pull.headSHA, let pusher {
            try await events.pullRequest("synchronize", synced, base: base, sender: pusher, before: pull.headSHA, key: "sync-\(task.id)-\(pull.id)")
        }
        try await pulls.recordSync(pull.id, state)
        if repository.id == base.id, state.commits == 0, let pusher, let landed = updates.first(where: { $0.ref == "refs/heads/\(pull.baseRef)" }),
           landed.new != RefUpdate.zero, try await brought(synced.headSHA, by: landed, in: base) {
            try await markMerged(synced, base: base, into: landed.new, pusher: pusher)
        }
    }

    /// Whether the base branch's update `landed` brought `head` onto it: in its history after,
    /// not before. (A head reset to a commit the base had, or a base changed to a branch that
    /// held the head, was not merged by this push.)
    private func brought(_ head: String, by landed: RefUpdate, in base: Repository) async throws -> Bool {
        func missing(from commit: String) async throws -> Int {
            let query = InternalClient.query(["base": commit, "head": head])
            guard let comparison = try await repostore.getJSON(GitComparison.self, "/repos/\(base.id)/compare?\(query)") else { throw PullSyncError.noComparison }
            return comparison.aheadBy
        }
        guard try await missing(from: landed.new) == 0 else { return false }
        if landed.old == RefUpdate.zero { return true }
        return try await missing(from: landed.old) > 0
    }

    /// Records that the push of `pusher` landed `pull` on its base at `commit`. The event is
    /// queued first, as the merged pull request will be, so a retry after a failed enqueue
    /// still sends it (its key, a merge's through Cairn too, makes one delivery).
    private func markMerged(_ pull: PullRequest, base: Repository, into commit: String, pusher: User) async throws {
        var merged = pull
        (merged.state, merged.mergedAt, merged.closedAt) = (.closed, Date(), Date())
        (merged.mergedByID, merged.mergedByName, merged.mergeCommitSHA) = (pusher.id, pusher.username, commit)
        try await events.pullRequest("closed", merged, base: base, sender: pusher, key: "merged-\(pull.id)")
        guard try await pulls.markMerged(pull.id, by: pusher.id, sha: commit, headSHA: pull.headSHA) else { return }
        logger.info("pull.merged_by_push", metadata: ["repo.id": "\(base.id)", "pull.number": "\(pull.number)"])
    }

    /// Closes `pull`, saying why in a comment by the person whose push caused it.
    private func close(_ pull: PullRequest, base: Repository, reason: String, task: TaskEnvelope, pusher: User?) async throws {
        guard try await pulls.setState(pull.id, .closed) else { return }
        logger.info("pull.closed_by_push", metadata: ["repo.id": "\(base.id)", "pull.number": "\(pull.number)", "reason": "\(reason)"])
        guard let pusher else { return }
        _ = try await pulls.addComment(pullRequestID: pull.id, author: pusher, body: "\(reason), so this pull request was closed.", anchor: nil)
        if let closed = try await pulls.find(id: pull.id) {
            try await events.pullRequest("closed", closed, base: base, sender: pusher, key: "closed-\(task.id)-\(pull.id)")
        }
    }
}

enum PullSyncError: Error, CustomStringConvertible {
    case noComparison
    var description: String { "the repository store had no comparison of the head and the base" }
}
