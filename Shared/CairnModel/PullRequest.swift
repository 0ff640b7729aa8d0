public import CairnProtocol
public import Foundation

/// A proposal to merge a head branch (in the same repository or a fork of it) into a base
/// branch. Its number is its base repository's, from 1.
public struct PullRequest: Sendable, Hashable {
    public let id: Int64
    public let repositoryID: Int64
    public let number: Int64
    public let authorID: Int64
    public var authorName: String
    public var title: String
    public var body: String
    /// nil once the head repository is deleted.
    public var headRepositoryID: Int64?
    /// The head repository's `owner/name` while it exists.
    public var headRepositoryName: String?
    public var headRef: String
    public var baseRef: String
    /// `open` or `closed` (merged ones are closed, with `mergedAt`).
    public var state: State
    public var headSHA: String
    public var baseSHA: String
    /// nil until known (or when a branch is gone).
    public var mergeable: Bool?
    public var conflicts: [String]
    /// The test merge (`refs/pull/{n}/merge`), when mergeable.
    public var mergeTestSHA: String?
    public var commitCount: Int
    public var mergedAt: Date?
    public var mergedByID: Int64?
    public var mergedByName: String?
    public var mergeCommitSHA: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var closedAt: Date?

    public enum State: String, Sendable, Hashable, CaseIterable {
        case open, closed
    }

    public var isMerged: Bool { mergedAt != nil }

    /// The head as GitHub's `head.label` names it: `owner:branch`.
    public var headLabel: String {
        "\(headRepositoryName?.split(separator: "/").first.map(String.init) ?? "unknown"):\(headRef)"
    }

    /// Where the two branches stand, as the repository store last told.
    public mutating func apply(_ sync: PullSyncState) {
        if let head = sync.headSHA { headSHA = head }
        if let base = sync.baseSHA { baseSHA = base }
        mergeable = sync.mergeable
        conflicts = sync.conflicts
        mergeTestSHA = sync.mergeSHA
        commitCount = sync.commits
    }
}

/// A review of a pull request at one commit.
public struct PullReview: Sendable, Hashable {
    public let id: Int64
    public let pullRequestID: Int64
    public let authorID: Int64
    public var authorName: String
    public var state: State
    public var body: String
    public var commitSHA: String
    public var submittedAt: Date

    /// GitHub's review states (the `event` of a new review is `APPROVE`, `REQUEST_CHANGES` or `COMMENT`).
    public enum State: String, Sendable, Hashable {
        case approved = "APPROVED", changesRequested = "CHANGES_REQUESTED", commented = "COMMENTED"

        /// The state a review `event` makes.
        public init?(event: String) {
            switch event {
            case "APPROVE": self = .approved
            case "REQUEST_CHANGES": self = .changesRequested
            case "COMMENT": self = .commented
            default: return nil
            }
        }
    }
}

/// A comment on a pull request's conversation, or, with `anchor`, on one line of its diff.
public struct PullComment: Sendable, Hashable {
    public let id: Int64
    public let pullRequestID: Int64
    public let authorID: Int64
    public var authorName: String
    public var reviewID: Int64?
    public var body: String
    public var anchor: Anchor?
    public var createdAt: Date
    public var updatedAt: Date

    /// Where on the diff an inline comment sits: the commit it was made on, the file, the
    /// side (`LEFT` the old lines, `RIGHT` the new) and the line number on that side.
    public struct Anchor: Sendable, Hashable {
        public var commitSHA: String
        public var path: String
        public var side: String
        public var line: Int

        public init(commitSHA: String, path: String, side: String, line: Int) {
            self.commitSHA = commitSHA
            self.path = path
            self.side = side
            self.line = line
        }
    }
}
