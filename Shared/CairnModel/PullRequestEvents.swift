public import CairnDatabase
public import CairnProtocol
public import Foundation

/// Queues the webhook deliveries of a pull request's events (`pull_request`,
/// `pull_request_review`, `pull_request_review_comment`) to the base repository's hooks that
/// take them, in one transaction. `key` names the event occurrence: the same key makes no
/// second delivery, so a task run twice sends once.
public struct PullRequestEvents: Sendable {
    public let hooks: WebhookStore
    public let outbox: Outbox
    public let repositories: RepositoryStore
    public let pulls: PullRequestStore
    public let baseURL: String

    public init(hooks: WebhookStore, outbox: Outbox, repositories: RepositoryStore, pulls: PullRequestStore, baseURL: String) {
        self.hooks = hooks
        self.pulls = pulls
        self.outbox = outbox
        self.repositories = repositories
        self.baseURL = baseURL
    }

    /// A `pull_request` event: `opened`, `edited`, `closed`, `reopened` or `synchronize`.
    /// `changes` (for `edited`) says what the edited fields were before, as GitHub does.
    public func pullRequest(
        _ action: String, _ pull: PullRequest, base: Repository, sender: User, before: String? = nil, changes: [String: JSONValue]? = nil,
        key: String = UUID().uuidString
    ) async throws {
        let shown = try await shape(pull, base: base)
        let payload = PullRequestEventPayload(
            action: action, pull: shown, repository: APIRepository(base, baseURL: baseURL, permission: nil), sender: sender, baseURL: baseURL,
            before: before, after: before == nil ? nil : pull.headSHA, changes: changes)
        try await deliver("pull_request", payload, repositoryID: base.id, key: key)
    }

    /// A `pull_request_review` (`submitted`) or `pull_request_review_comment` (`created`) event.
    public func review(_ review: PullReview?, comment: PullComment?, _ pull: PullRequest, base: Repository, sender: User) async throws {
        let shown = try await shape(pull, base: base)
        let event = review != nil ? "pull_request_review" : "pull_request_review_comment"
        let payload = PullReviewEventPayload(
            action: review != nil ? "submitted" : "created", review: review.map { APIPullReview($0, pull: pull, repository: base, baseURL: baseURL, forWebhook: true) },
            comment: comment.map { APIPullComment($0, pull: pull, repository: base, baseURL: baseURL) }, pull: shown,
            repository: APIRepository(base, baseURL: baseURL, permission: nil), sender: sender, baseURL: baseURL)
        try await deliver(event, payload, repositoryID: base.id, key: "\(event)-\(review?.id ?? 0)-\(comment?.id ?? 0)")
    }

    /// An `issue_comment` event (`created`, `edited` or `deleted`) for a comment on the conversation.
    public func issueComment(_ action: String, _ comment: PullComment, _ pull: PullRequest, base: Repository, sender: User) async throws {
        let payload = IssueCommentEventPayload(action: action, comment: comment, pull: pull, repository: base, sender: sender, baseURL: baseURL)
        try await deliver("issue_comment", payload, repositoryID: base.id, key: "issue-comment-\(comment.id)-\(action)-\(action == "edited" ? UUID().uuidString : "")")
    }

    /// The pull request as its payload shows it, with its head repository.
    public func shape(_ pull: PullRequest, base: Repository) async throws -> APIPullRequest {
        try await shape([pull], base: base)[0]
    }

    /// Pull requests of `base` as the API lists them: each head repository read once, and
    /// every requested reviewer in one query, however many there are.
    public func shape(_ list: [PullRequest], base: Repository) async throws -> [APIPullRequest] {
        var heads: [Int64: Repository] = [base.id: base]
        for id in Set(list.compactMap(\.headRepositoryID)) where heads[id] == nil {
            heads[id] = try await repositories.find(id: id)
        }
        let reviewers = try await pulls.requestedReviewers(pullRequestIDs: list.map(\.id))
        return list.map { pull in
            APIPullRequest(pull, base: base, head: pull.headRepositoryID.flatMap { heads[$0] }, baseURL: baseURL, reviewers: reviewers[pull.id] ?? [])
        }
    }

    private func deliver(_ event: String, _ payload: some Encodable, repositoryID: Int64, key: String) async throws {
        try await hooks.deliver(event, payload, repositoryID: repositoryID, key: key, outbox: outbox)
    }
}
