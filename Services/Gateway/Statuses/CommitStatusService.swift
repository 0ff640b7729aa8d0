import CairnDatabase
import CairnModel
import CairnProtocol
import Foundation
import Logging

/// Commit statuses: reported by CI (writers and tokens that may write), read by readers,
/// sent to webhooks as `status` events, and shown as marks beside commits on pages.
struct CommitStatusService: Sendable {
    let statuses: CommitStatusStore
    let users: UserStore
    let content: RepositoryContent
    let hooks: WebhookStore
    let outbox: Outbox
    let protections: BranchProtectionStore
    let baseURL: String
    let logger: Logger

    /// Stores `report` on the commit `sha` of `repository` and queues the `status` event.
    func report(_ report: CommitStatusReport, sha: String, repository: Repository, by user: User) async throws -> CommitStatus {
        if let problem = report.problem { throw GatewayError.invalid(problem) }
        guard GitInput.isObjectID(sha), sha.count == 40, let commit = try await content.findCommit(repository, sha: sha.lowercased()) else {
            throw GatewayError.invalid("No commit found for SHA: \(sha.prefix(64))")
        }
        guard let status = try await statuses.create(repositoryID: repository.id, sha: commit.sha, report: report, creatorID: user.id) else {
            throw GatewayError.invalid("This commit has \(CommitStatusStore.maxPerCommit) statuses, the most one commit may have")
        }
        try await sendEvent(status, commit: commit, repository: repository, sender: user)
        logger.info("status.reported", metadata: ["repo.id": "\(repository.id)", "status.state": "\(status.state.rawValue)"])
        return status
    }

    private func sendEvent(_ status: CommitStatus, commit: GitCommit, repository: Repository, sender: User) async throws {
        let refs = try await content.refs(repository)
        let rules = try await protections.list(repositoryID: repository.id)
        let api = "\(baseURL)/api/v3/repos/\(repository.fullName)"
        let branches = refs.branches.filter { $0.sha == status.sha }.map { branch in
            StatusEventPayload.Branch(
                name: branch.name, commit: APICommit.SHA(sha: branch.sha, url: "\(api)/commits/\(branch.sha)"), protected: rules.contains { $0.matches(branch.name) })
        }
        let payload = StatusEventPayload(
            id: status.id, sha: status.sha, name: repository.fullName, targetUrl: status.targetURL, context: status.context,
            description: status.description, state: status.state.rawValue, commit: APICommit(commit, repository: repository, baseURL: baseURL),
            branches: branches, createdAt: status.createdAt, updatedAt: status.createdAt,
            repository: APIRepository(repository, baseURL: baseURL, permission: nil), sender: APIUser(sender, baseURL: baseURL))
        try await hooks.deliver("status", payload, repositoryID: repository.id, key: "status-\(status.id)", outbox: outbox)
    }

    /// The statuses of `sha`, newest first, as the API shows them.
    func list(_ repository: Repository, sha: String, page: Pagination) async throws -> (statuses: [APICommitStatus], hasMore: Bool) {
        let found = try await statuses.list(repositoryID: repository.id, sha: sha, limit: page.perPage + 1, offset: page.offset)
        let creators = Dictionary(uniqueKeysWithValues: try await users.find(ids: Array(Set(found.compactMap(\.creatorID)))).map { ($0.id, $0) })
        let shown = found.prefix(page.perPage).map { APICommitStatus($0, repository: repository, creator: $0.creatorID.flatMap { creators[$0] }, baseURL: baseURL) }
        return (shown, found.count > page.perPage)
    }

    /// The combined status of `sha`.
    func combined(_ repository: Repository, sha: String) async throws -> APICombinedStatus {
        let latest = (try await statuses.latest(repositoryID: repository.id, shas: [sha])[sha] ?? []).sorted { $0.id > $1.id }
        let api = "\(baseURL)/api/v3/repos/\(repository.fullName)"
        return APICombinedStatus(
            state: CommitStatus.combined(latest).rawValue,
            statuses: latest.map { APICommitStatus($0, repository: repository, creator: nil, baseURL: baseURL) },
            sha: sha, totalCount: latest.count, repository: APIRepository(repository, baseURL: baseURL, permission: nil),
            commitUrl: "\(api)/commits/\(sha)", url: "\(api)/commits/\(sha)/status")
    }

    /// The marks of `shas` for a page: one per commit that has statuses.
    func marks(_ repository: Repository, shas: [String]) async throws -> [String: StatusMark] {
        try await statuses.latest(repositoryID: repository.id, shas: shas).mapValues(StatusMark.init)
    }
}
