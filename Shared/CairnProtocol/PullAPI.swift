/// The repository store's pull request calls (`/repos/{base id}/pulls/{number}/…`): the
/// gateway and the worker name the head by repository id and branch, the store keeps
/// `refs/pull/{number}/head` and `…/merge` in the base repository and merges there.

/// `POST …/pulls/{n}/sync`: fetch the head into `refs/pull/{n}/head` and test the merge.
public struct PullSyncRequest: Codable, Sendable {
    public var headRepositoryID: Int64
    public var headRef: String
    public var baseRef: String

    public init(headRepositoryID: Int64, headRef: String, baseRef: String) {
        self.headRepositoryID = headRepositoryID
        self.headRef = headRef
        self.baseRef = baseRef
    }
}

/// Where a pull request's two branches stand and whether they merge.
public struct PullSyncState: Codable, Sendable, Hashable {
    /// nil when the head branch (or its repository) is gone.
    public var headSHA: String?
    /// nil when the base branch is gone.
    public var baseSHA: String?
    /// nil when it could not be told (a branch is gone).
    public var mergeable: Bool?
    /// The files that conflict, when `mergeable` is false.
    public var conflicts: [String]
    /// The test merge commit (`refs/pull/{n}/merge`), when mergeable.
    public var mergeSHA: String?
    /// Commits on the head that the base does not have.
    public var commits: Int
    /// Why the merge could not be tested, in words (unrelated histories, a branch gone).
    public var problem: String?

    public init(headSHA: String?, baseSHA: String?, mergeable: Bool?, conflicts: [String], mergeSHA: String?, commits: Int, problem: String?) {
        self.headSHA = headSHA
        self.baseSHA = baseSHA
        self.mergeable = mergeable
        self.conflicts = conflicts
        self.mergeSHA = mergeSHA
        self.commits = commits
        self.problem = problem
    }
}

/// How a pull request lands on its base branch (GitHub's `merge_method`).
public enum PullMergeMethod: String, Codable, Sendable, CaseIterable {
    /// A merge commit with the base and the head as parents.
    case merge
    /// One new commit with the head's changes, on the base.
    case squash
    /// The head's commits replayed on the base one by one (a fast-forward when the base has
    /// not moved).
    case rebase
}

/// `POST …/pulls/{n}/merge`.
public struct PullMergeRequest: Codable, Sendable {
    public var method: PullMergeMethod
    public var baseRef: String
    /// The head the merging person saw: a head that moved since is refused (409).
    public var expectedHeadSHA: String
    /// The message of the merge or squash commit.
    public var message: String
    /// Author of a squash commit (the pull request's author); committer of every new commit
    /// (the person merging).
    public var author: GitSignature
    public var committer: GitSignature
    /// The person merging, recorded as the pusher of the base branch's update.
    public var pusherID: Int64
    /// The base repository's branch rules, and what the gateway found of the pull request
    /// for them: the store refuses (403) a merge they forbid.
    public var rules: BranchRulesInForce?
    public var facts: PullMergeFacts?

    public init(
        method: PullMergeMethod, baseRef: String, expectedHeadSHA: String, message: String, author: GitSignature, committer: GitSignature, pusherID: Int64,
        rules: BranchRulesInForce? = nil, facts: PullMergeFacts? = nil
    ) {
        self.rules = rules
        self.facts = facts
        self.method = method
        self.baseRef = baseRef
        self.expectedHeadSHA = expectedHeadSHA
        self.message = message
        self.author = author
        self.committer = committer
        self.pusherID = pusherID
    }
}

/// What a merge left on the base branch.
public struct PullMergeResult: Codable, Sendable {
    /// The base branch's new tip.
    public var sha: String

    public init(sha: String) { self.sha = sha }
}

/// `GET /repos/{id}/compare?base=&head=`: the head's commits the base lacks (oldest first)
/// and the files changed since their merge base.
public struct GitComparison: Codable, Sendable, Hashable {
    public var mergeBase: String?
    public var commits: [GitCommit]
    public var files: [GitFileChange]
    public var patchesCut: Bool
    /// More commits than listed.
    public var commitsCut: Bool
    /// How many commits `head` has that `base` lacks (all of them, even past those listed),
    /// and how many `base` has that `head` lacks.
    public var aheadBy = 0
    public var behindBy = 0

    public init(mergeBase: String?, commits: [GitCommit], files: [GitFileChange], patchesCut: Bool, commitsCut: Bool) {
        self.mergeBase = mergeBase
        self.commits = commits
        self.files = files
        self.patchesCut = patchesCut
        self.commitsCut = commitsCut
    }
}

/// `POST /repos/{id}/branches/delete`: removes a branch that is still where the caller saw
/// it, recorded as a push by `pusherID` (a merged pull request's head branch).
public struct BranchDeletion: Codable, Sendable {
    public var branch: String
    public var expectedSHA: String
    public var pusherID: Int64
    /// The repository's branch rules: the store refuses (403) a deletion they forbid.
    public var rules: BranchRulesInForce?

    public init(branch: String, expectedSHA: String, pusherID: Int64, rules: BranchRulesInForce? = nil) {
        self.rules = rules
        self.branch = branch
        self.expectedSHA = expectedSHA
        self.pusherID = pusherID
    }
}
