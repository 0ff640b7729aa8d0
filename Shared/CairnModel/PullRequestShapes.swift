public import CairnProtocol
public import Foundation

/// A pull request as GitHub's API shows one (`GET /repos/{o}/{r}/pulls/{n}`), also the
/// `pull_request` of its webhook payloads.
public struct APIPullRequest: Encodable, Sendable {
    /// `head` or `base`: a branch of a repository at a commit.
    public struct Branch: Encodable, Sendable {
        public let label: String
        public let ref: String
        public let sha: String
        public let user: APIRepository.Owner?
        /// nil once the head repository is deleted.
        public let repo: APIRepository?

        enum CodingKeys: String, CodingKey { case label, ref, sha, user, repo }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(label, forKey: .label)
            try c.encode(ref, forKey: .ref)
            try c.encode(sha, forKey: .sha)
            try c.encode(user, forKey: .user)
            try c.encode(repo, forKey: .repo)
        }
    }

    public let url: String
    public let id: Int64
    public let htmlUrl: String
    public let diffUrl: String
    public let patchUrl: String
    public let issueUrl: String
    public let commitsUrl: String
    public let reviewCommentsUrl: String
    public let commentsUrl: String
    public let number: Int64
    public let state: String
    public let locked = false
    public let title: String
    public let user: APIRepository.Owner
    public let body: String?
    public let createdAt: Date
    public let updatedAt: Date
    public let closedAt: Date?
    public let mergedAt: Date?
    public let mergeCommitSha: String?
    public let requestedReviewers: [APIRepository.Owner]
    public let head: Branch
    public let base: Branch
    public let draft = false
    public let merged: Bool
    public let mergeable: Bool?
    /// `clean`, `dirty` (conflicts) or `unknown`.
    public let mergeableState: String
    public let mergedBy: APIRepository.Owner?
    public let commits: Int
    public let maintainerCanModify = false

    /// GitHub sends every field, absent ones as `null`, and clients test for that.
    enum CodingKeys: String, CodingKey {
        case url, id, htmlUrl, diffUrl, patchUrl, issueUrl, commitsUrl, reviewCommentsUrl, commentsUrl, number, state, locked, title, user, body
        case createdAt, updatedAt, closedAt, mergedAt, mergeCommitSha, requestedReviewers, head, base, draft, merged, mergeable, mergeableState
        case mergedBy, commits, maintainerCanModify
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(url, forKey: .url)
        try c.encode(id, forKey: .id)
        try c.encode(htmlUrl, forKey: .htmlUrl)
        try c.encode(diffUrl, forKey: .diffUrl)
        try c.encode(patchUrl, forKey: .patchUrl)
        try c.encode(issueUrl, forKey: .issueUrl)
        try c.encode(commitsUrl, forKey: .commitsUrl)
        try c.encode(reviewCommentsUrl, forKey: .reviewCommentsUrl)
        try c.encode(commentsUrl, forKey: .commentsUrl)
        try c.encode(number, forKey: .number)
        try c.encode(state, forKey: .state)
        try c.encode(locked, forKey: .locked)
        try c.encode(title, forKey: .title)
        try c.encode(user, forKey: .user)
        try c.encode(body, forKey: .body)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(closedAt, forKey: .closedAt)
        try c.encode(mergedAt, forKey: .mergedAt)
        try c.encode(mergeCommitSha, forKey: .mergeCommitSha)
        try c.encode(requestedReviewers, forKey: .requestedReviewers)
        try c.encode(head, forKey: .head)
        try c.encode(base, forKey: .base)
        try c.encode(draft, forKey: .draft)
        try c.encode(merged, forKey: .merged)
        try c.encode(mergeable, forKey: .mergeable)
        try c.encode(mergeableState, forKey: .mergeableState)
        try c.encode(mergedBy, forKey: .mergedBy)
        try c.encode(commits, forKey: .commits)
        try c.encode(maintainerCanModify, forKey: .maintainerCanModify)
    }

    /// `base` is the pull request's repository, `head` its head repository (nil once deleted).
    /// `reviewers`: whose reviews it waits for (id and user name).
    public init(_ pull: PullRequest, base: Repository, head: Repository?, baseURL: String, reviewers: [(id: Int64, username: String)] = []) {
        requestedReviewers = reviewers.map { .init($0.username, id: $0.id, baseURL: baseURL) }
        let api = "\(baseURL)/api/v3/repos/\(base.fullName)"
        url = "\(api)/pulls/\(pull.number)"
        id = pull.id
        htmlUrl = "\(baseURL)/\(base.fullName)/pull/\(pull.number)"
        diffUrl = htmlUrl + ".diff"
        patchUrl = htmlUrl + ".patch"
        issueUrl = "\(api)/issues/\(pull.number)"
        commitsUrl = url + "/commits"
        reviewCommentsUrl = url + "/comments"
        commentsUrl = issueUrl + "/comments"
        number = pull.number
        state = pull.state.rawValue
        title = pull.title
        user = .init(pull.authorName, id: pull.authorID, baseURL: baseURL)
        body = pull.body.isEmpty ? nil : pull.body
        createdAt = pull.createdAt
        updatedAt = pull.updatedAt
        closedAt = pull.closedAt
        mergedAt = pull.mergedAt
        mergeCommitSha = pull.mergeCommitSHA ?? pull.mergeTestSHA
        self.head = Branch(
            label: pull.headLabel, ref: pull.headRef, sha: pull.headSHA, user: head.map { .init($0.ownerName, id: $0.ownerID, baseURL: baseURL) },
            repo: head.map { APIRepository($0, baseURL: baseURL, permission: nil) })
        self.base = Branch(
            label: "\(base.ownerName):\(pull.baseRef)", ref: pull.baseRef, sha: pull.baseSHA, user: .init(base.ownerName, id: base.ownerID, baseURL: baseURL),
            repo: APIRepository(base, baseURL: baseURL, permission: nil))
        merged = pull.isMerged
        mergeable = pull.isMerged || pull.state == .closed ? nil : pull.mergeable
        mergeableState = pull.state == .open ? pull.mergeable.map { $0 ? "clean" : "dirty" } ?? "unknown" : "unknown"
        mergedBy = pull.mergedByName.map { .init($0, id: pull.mergedByID ?? 0, baseURL: baseURL) }
        commits = pull.commitCount
    }
}

extension APIRepository.Owner {
    /// The user `login` (with id `id`) as an owner or author is shown.
    public init(_ login: String, id: Int64, baseURL: String) {
        self.init(login: login, id: id, url: "\(baseURL)/api/v3/users/\(login)", htmlUrl: "\(baseURL)/\(login)")
    }
}

/// A comment as GitHub shows an issue comment (on the conversation) or a review comment (on
/// a line of the diff: `path`, `line`, `side`, `commit_id`).
public struct APIPullComment: Encodable, Sendable {
    public let id: Int64
    public let url: String
    public let htmlUrl: String
    public let body: String
    public let user: APIRepository.Owner
    public let createdAt: Date
    public let updatedAt: Date
    public let pullRequestReviewId: Int64?
    public let path: String?
    public let line: Int?
    public let side: String?
    public let commitId: String?
    /// An inline comment whose line changed since: the head is no longer its commit.
    public let outdated: Bool?

    public init(_ comment: PullComment, pull: PullRequest, repository: Repository, baseURL: String) {
        id = comment.id
        let kind = comment.anchor == nil ? "issues" : "pulls"
        url = "\(baseURL)/api/v3/repos/\(repository.fullName)/\(kind)/comments/\(comment.id)"
        htmlUrl = "\(baseURL)/\(repository.fullName)/pull/\(pull.number)#comment-\(comment.id)"
        body = comment.body
        user = .init(comment.authorName, id: comment.authorID, baseURL: baseURL)
        createdAt = comment.createdAt
        updatedAt = comment.updatedAt
        pullRequestReviewId = comment.reviewID
        path = comment.anchor?.path
        line = comment.anchor?.line
        side = comment.anchor?.side
        commitId = comment.anchor?.commitSHA
        outdated = comment.anchor.map { $0.commitSHA != pull.headSHA }
    }
}

/// A review as GitHub shows one.
public struct APIPullReview: Encodable, Sendable {
    public let id: Int64
    public let user: APIRepository.Owner
    public let body: String
    public let state: String
    public let htmlUrl: String
    public let pullRequestUrl: String
    public let commitId: String
    public let submittedAt: Date

    /// `forWebhook`: webhooks name the state in lower case (`approved`), the API in upper case.
    public init(_ review: PullReview, pull: PullRequest, repository: Repository, baseURL: String, forWebhook: Bool = false) {
        id = review.id
        user = .init(review.authorName, id: review.authorID, baseURL: baseURL)
        body = review.body
        state = forWebhook ? review.state.rawValue.lowercased() : review.state.rawValue
        htmlUrl = "\(baseURL)/\(repository.fullName)/pull/\(pull.number)#review-\(review.id)"
        pullRequestUrl = "\(baseURL)/api/v3/repos/\(repository.fullName)/pulls/\(pull.number)"
        commitId = review.commitSHA
        submittedAt = review.submittedAt
    }
}

/// The payload of a `pull_request` webhook (GitHub's fields): `action` is `opened`,
/// `edited`, `closed`, `reopened` or `synchronize`.
public struct PullRequestEventPayload: Encodable, Sendable {
    public let action: String
    public let number: Int64
    public let pullRequest: APIPullRequest
    public let repository: APIRepository
    public let sender: APIRepository.Owner
    /// For `synchronize`: the head before and after.
    public let before: String?
    public let after: String?
    /// For `edited`: what each changed field was (`title`, `body`: `{"from": …}`; `base`:
    /// `{"ref": {"from": …}}`).
    public let changes: [String: JSONValue]?

    public init(
        action: String, pull: APIPullRequest, repository: APIRepository, sender: User, baseURL: String, before: String? = nil, after: String? = nil,
        changes: [String: JSONValue]? = nil
    ) {
        self.action = action
        self.changes = changes
        number = pull.number
        pullRequest = pull
        self.repository = repository
        self.sender = .init(sender.username, id: sender.id, baseURL: baseURL)
        self.before = before
        self.after = after
    }
}

/// The payload of a `pull_request_review` (`submitted`) or `pull_request_review_comment`
/// (`created`) webhook.
public struct PullReviewEventPayload: Encodable, Sendable {
    public let action: String
    public let review: APIPullReview?
    public let comment: APIPullComment?
    public let pullRequest: APIPullRequest
    public let repository: APIRepository
    public let sender: APIRepository.Owner

    public init(action: String, review: APIPullReview?, comment: APIPullComment?, pull: APIPullRequest, repository: APIRepository, sender: User, baseURL: String) {
        self.action = action
        self.review = review
        self.comment = comment
        pullRequest = pull
        self.repository = repository
        self.sender = .init(sender.username, id: sender.id, baseURL: baseURL)
    }
}

/// The payload of an `issue_comment` webhook (`created`): GitHub keeps a pull request's
/// conversation on its issue, which names the pull request.
public struct IssueCommentEventPayload: Encodable, Sendable {
    public struct Issue: Encodable, Sendable {
        public struct PullRequestLink: Encodable, Sendable {
            public let url: String
            public let htmlUrl: String
        }

        public let number: Int64
        public let title: String
        public let state: String
        public let user: APIRepository.Owner
        public let htmlUrl: String
        public let pullRequest: PullRequestLink
    }

    public let action: String
    public let issue: Issue
    public let comment: APIPullComment
    public let repository: APIRepository
    public let sender: APIRepository.Owner

    public init(action: String, comment: PullComment, pull: PullRequest, repository: Repository, sender: User, baseURL: String) {
        self.action = action
        let pullURL = "\(baseURL)/api/v3/repos/\(repository.fullName)/pulls/\(pull.number)"
        let page = "\(baseURL)/\(repository.fullName)/pull/\(pull.number)"
        issue = Issue(
            number: pull.number, title: pull.title, state: pull.state.rawValue, user: .init(pull.authorName, id: pull.authorID, baseURL: baseURL),
            htmlUrl: page, pullRequest: .init(url: pullURL, htmlUrl: page))
        self.comment = APIPullComment(comment, pull: pull, repository: repository, baseURL: baseURL)
        self.repository = APIRepository(repository, baseURL: baseURL, permission: nil)
        self.sender = .init(sender.username, id: sender.id, baseURL: baseURL)
    }
}
