import CairnModel
import CairnProtocol
import CairnService
import Foundation
import Logging
import NIOCore

/// After a push: brings every open pull request whose head or base branch it moved up to
/// date (`refs/pull/{n}/head`, the test merge and mergeability), sends `synchronize` when a
/// head moved, and closes, with a comment saying why, one whose head or base branch is gone.
/// Run twice for one push it changes nothing more: the second sync finds the same heads.
struct PullRequestSync: Sendable {
    let pulls: PullRequestStore
    let repositories: RepositoryStore
    let events: PullRequestEvents
    let repostore: InternalClient
    let logger: Logger

    func afterPush(_ task: TaskEnvelope, repository: Repository, updates: [RefUpdate], pusher: User?) async throws {
        let branches = updates.filter { $0.ref.hasPrefix("refs/heads/") }.map { String($0.ref.dropFirst("refs/heads/".count)) }
        for pull in try await pulls.openPulls(repositoryID: repository.id, branches: branches) {
            let base = pull.repositoryID == repository.id ? repository : try await repositories.find(id: pull.repositoryID)
            guard let base else { continue }
            let state = try await repostore.postJSON(
                PullSyncState.self, "/repos/\(base.id)/pulls/\(pull.number)/sync",
                json: PullSyncRequest(headRepositoryID: pull.headRepositoryID ?? 0, headRef: pull.headRef, baseRef: pull.baseRef), timeout: .minutes(10))
            try await pulls.recordSync(pull.id, state)
            var synced = pull
            synced.apply(state)
            guard let pusher else { continue }
            if state.headSHA == nil || state.baseSHA == nil {
                let gone = state.headSHA == nil ? "head branch \(pull.headRef)" : "base branch \(pull.baseRef)"
                guard try await pulls.setState(pull.id, .closed) else { continue }
                _ = try await pulls.addComment(pullRequestID: pull.id, author: pusher, body: "The \(gone) was deleted, so this pull request was closed.", anchor: nil)
                if let closed = try await pulls.find(id: pull.id) {
                    try await events.pullRequest("closed", closed, base: base, sender: pusher, key: "gone-\(task.id)-\(pull.id)")
                }
                logger.info("pull.closed_branch_gone", metadata: ["repo.id": "\(base.id)", "pull.number": "\(pull.number)"])
            } else if synced.headSHA != pull.headSHA {
                try await events.pullRequest("synchronize", synced, base: base, sender: pusher, before: pull.headSHA, key: "sync-\(task.id)-\(pull.id)")
            }
        }
    }
}
