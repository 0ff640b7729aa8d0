import CairnDatabase
import CairnModel
import CairnProtocol
import CairnService
import Foundation
import Logging

/// `push`: what follows a push that the repository store recorded. It sets the repository's
/// last-pushed time and bumps its cache version (retiring cached pages), takes the branch the
/// first push created as the default branch, records size, commit count and languages, and
/// makes one delivery per active hook and ref update and one mail per watcher, and syncs the
/// open pull requests whose branches moved (`PullRequestSync`). (The repository store queues the
/// throttled maintenance run itself, as soon as the push lands.)
///
/// Run twice, it does the same: the figures are overwritten, and deliveries are keyed by task,
/// hook and ref, so the second run makes none.
struct PushTask: TaskHandler {
    let repositories: RepositoryStore
    let users: UserStore
    let hooks: WebhookStore
    let social: SocialGraph
    let outbox: Outbox
    let repostore: InternalClient
    let pullRequests: PullRequestSync
    let baseURL: String
    let logger: Logger
    let kind = "push"
    let timeLimit: Duration = .seconds(120)
    /// Commits listed in one push payload, as GitHub caps them.
    static let payloadCommits = 20

    func handle(_ task: TaskEnvelope) async throws {
        let id = try task.repositoryID()
        guard var repository = try await repositories.find(id: id) else { return }  // deleted since
        try await repositories.recordPush(id, at: task.enqueuedAt)
        let refs = try await repostore.getJSON(GitRefs.self, "/repos/\(id)/refs")
        if repository.defaultBranch == nil, let head = refs?.head {
            try await repositories.update(id, name: nil, description: nil, isPrivate: nil, defaultBranch: head)
            repository.defaultBranch = head
        }
        // Deliveries first: receivers wait on them, while the figures only feed pages.
        try await notify(task, repository: repository)
        try await recordFigures(of: repository, hasCommits: refs?.head != nil)
        let pusher = try await task.args["pusher_id"]?.numberValue.asyncMap { try await users.find(id: Int64($0)) } ?? nil
        try await pullRequests.afterPush(task, repository: repository, updates: try Self.updates(task), pusher: pusher)
    }

    private func recordFigures(of repository: Repository, hasCommits: Bool) async throws {
        guard hasCommits else {
            try await repositories.recordFigures(repository.id, sizeBytes: 0, commitCount: 0, languages: [:])
            return
        }
        let stats = try await repostore.getJSON(GitRepositoryStats.self, "/repos/\(repository.id)/stats")
        let languages = try await repostore.getJSON([String: Int].self, "/repos/\(repository.id)/languages")
        try await repositories.recordFigures(repository.id, sizeBytes: stats?.sizeBytes ?? 0, commitCount: stats?.commits ?? 0, languages: languages ?? [:])
    }

    /// One delivery per active hook and ref update, and one mail per watcher (who may still
    /// read the repository) and updated branch; all of a ref's work is queued in one transaction.
    private func notify(_ task: TaskEnvelope, repository: Repository) async throws {
        let active = try await hooks.active(repositoryID: repository.id, event: "push")
        let watcherIDs = try await social.subjects(.watch, of: repository.id)
        guard !active.isEmpty || !watcherIDs.isEmpty else { return }
        guard let pusherID = task.args["pusher_id"]?.numberValue, let pusher = try await users.find(id: Int64(pusherID)) else {
            logger.warning("push.no_pusher", metadata: ["task.id": "\(task.id)", "repo.id": "\(repository.id)"])
            return
        }
        let readers = try await repositories.readers(among: watcherIDs.filter { $0 != pusher.id }, of: repository)
        for (index, update) in try Self.updates(task).enumerated() {
            let query = InternalClient.query(["ref": update.ref, "before": update.old, "after": update.new, "limit": String(Self.payloadCommits)])
            guard let pushed = try await repostore.getJSON(GitPushedCommits.self, "/repos/\(repository.id)/pushed?\(query)") else { continue }
            let payload = PushEventPayload(update: update, pushed: pushed, repository: repository, pusher: pusher, baseURL: baseURL)
            let text = String(decoding: try GitHubJSON.encoder().encode(payload), as: UTF8.self)
            let mailDetails: [String: JSONValue] = [
                "repository_id": .number(Double(repository.id)), "pusher": .string(pusher.username), "ref": .string(update.ref),
                "commits": .array(pushed.commits.map { .string("\($0.commit.sha.prefix(10)) \($0.commit.message.firstLine)") }),
            ]
            let mails = update.ref.hasPrefix("refs/heads/") && !pushed.commits.isEmpty ? readers : []
            try await outbox.transaction { transaction in
                let targets = active.map { (hookID: $0.id, guid: WebhookStore.deliveryGUID(task.id, String($0.id), update.ref)) }
                try await hooks.enqueueDeliveries(targets, event: "push", payload: text, in: transaction)
                let mail = mails.map { AccountMail.task(.push, to: $0, details: mailDetails, id: "push-mail-\(task.id)-\(index)-\($0)") }
                try await transaction.enqueue(mail, queue: QueueName.default.rawValue)
            }
        }
    }

    /// The ref updates in `args.updates`.
    static func updates(_ task: TaskEnvelope) throws -> [RefUpdate] {
        guard case .array(let items)? = task.args["updates"] else { throw MalformedTask(description: "push task \(task.id) has no updates") }
        return items.compactMap { item in
            guard let old = item["old"]?.stringValue, let new = item["new"]?.stringValue, let ref = item["ref"]?.stringValue else { return nil }
            return RefUpdate(old: old, new: new, ref: ref)
        }
    }
}

extension String {
    /// The first line (a commit message's subject).
    var firstLine: String { String(split(separator: "\n", maxSplits: 1).first ?? "") }
}
