import CairnModel
import Foundation

/// The list of a repository's pull requests (`pulls` template).
struct PullListView {
    struct Item {
        let number: Int64
        let title: String
        let author: String
        let age: String
        let url: String
        let state: String
        let stateClass: String
        let headLabel: String
        let baseRef: String

        init(_ pull: PullRequest, fullName: String) {
            number = pull.number
            title = pull.title
            author = pull.authorName
            age = PageFormat.age(pull.createdAt)
            url = "/\(fullName)/pull/\(pull.number)"
            (state, stateClass) = PullView.stateLabel(pull)
            headLabel = pull.headLabel
            baseRef = pull.baseRef
        }
    }

    let fullName: String
    let state: String
    let open: Bool
    let closed: Bool
    let pulls: [Item]
    let openCount: Int
    let signedIn: Bool
    let next: String?
}

/// The form that opens a pull request, with what a branch of this repository would bring.
struct NewPullView {
    struct Form {
        let head: String
        let base: String
        let title: String
        let body: String
    }

    struct FileItem {
        let path: String
        let additions: Int
        let deletions: Int
    }

    let fullName: String
    let form: Form
    let error: String?
    let signedIn: Bool
    let commits: [CommitItem]
    let files: [FileItem]
    let compared: Bool
}

/// One pull request's page (`pull` template): its conversation, commits or files tab.
struct PullView {
    enum Tab { case conversation, commits, files }

    /// A comment or a review in the conversation, oldest first.
    struct Entry {
        let anchor: String
        /// A comment's id, for its edit and delete forms (nil for a review).
        var commentID: Int64? = nil
        /// The comment's Markdown, for its edit form.
        var source = ""
        var canEdit = false
        var canDelete = false
        let author: String
        let age: String
        let bodyHTML: String
        let review: String?
        let reviewClass: String?
        let path: String?
        let line: Int?
        let side: String?
        let outdated: Bool
        let date: Date
    }

    let fullName: String
    let number: Int64
    let title: String
    let state: String
    let stateClass: String
    let author: String
    let headLabel: String
    let baseRef: String
    /// "3 commits".
    let commitCount: String
    let age: String
    let conversation: Bool
    let commitsTab: Bool
    let filesTab: Bool
    let url: String
    let bodyHTML: String
    let entries: [Entry]
    let inline: [Entry]
    let isOpen: Bool
    let canMerge: Bool
    let mergeable: Bool
    let conflicted: Bool
    let conflicts: [String]
    let headSHA: String
    let canChangeState: Bool
    let canReopen: Bool
    let signedIn: Bool
    let canReview: Bool
    let mergedBy: String?
    let mergeCommit: String?
    let error: String?
    /// Whose reviews it waits for.
    struct Reviewer {
        let name: String
        let codeOwner: Bool
    }

    var reviewers: [Reviewer] = []
    /// What the base branch's rules still ask before a merge.
    var needs: [String] = []
    /// The head commit's checks (not `status`, which each listed commit may lack and would then inherit).
    var headStatus: StatusMark?
    /// Mergeable, and nothing the rules ask is missing (set with `needs`).
    var mergeReady = false
    var commits: [CommitItem] = []
    /// The files tab's diffs, rendered (`PullDiffView`, cached by the two commits).
    var diffHTML = ""

    init(_ pull: PullRequest, fullName: String, tab: Tab, comments: [PullComment], reviews: [PullReview], visitor: User?, permission: Permission, error: String?) {
        self.fullName = fullName
        number = pull.number
        title = pull.title
        (state, stateClass) = Self.stateLabel(pull)
        author = pull.authorName
        headLabel = pull.headLabel
        baseRef = pull.baseRef
        commitCount = PageFormat.plural(pull.commitCount, "commit")
        age = PageFormat.age(pull.createdAt)
        conversation = tab == .conversation
        commitsTab = tab == .commits
        filesTab = tab == .files
        url = "/\(fullName)/pull/\(pull.number)"
        bodyHTML = pull.body.isEmpty ? "" : MarkdownRenderer.html(pull.body)
        let commentEntries = comments.map { comment in
            var entry = Entry(
                anchor: "comment-\(comment.id)", author: comment.authorName, age: PageFormat.age(comment.createdAt), bodyHTML: MarkdownRenderer.html(comment.body),
                review: nil, reviewClass: nil, path: comment.anchor?.path, line: comment.anchor?.line, side: comment.anchor?.side,
                outdated: comment.anchor.map { $0.commitSHA != pull.headSHA } ?? false, date: comment.createdAt)
            entry.commentID = comment.id
            entry.source = comment.body
            entry.canEdit = visitor?.id == comment.authorID
            entry.canDelete = entry.canEdit || (visitor != nil && permission >= .admin)
            return entry
        }
        let reviewEntries = reviews.map { review in
            let (label, style) = switch review.state {
            case .approved: ("approved these changes", "approved")
            case .changesRequested: ("requested changes", "changes")
            case .commented: ("reviewed", "reviewed")
            }
            return Entry(
                anchor: "review-\(review.id)", author: review.authorName, age: PageFormat.age(review.submittedAt),
                bodyHTML: review.body.isEmpty ? "" : MarkdownRenderer.html(review.body), review: label, reviewClass: style,
                path: nil, line: nil, side: nil, outdated: false, date: review.submittedAt)
        }
        entries = (commentEntries + reviewEntries).sorted { $0.date < $1.date }
        inline = commentEntries.filter { $0.path != nil }
        isOpen = pull.state == .open
        canMerge = isOpen && permission >= .write && visitor != nil
        mergeable = pull.mergeable == true
        conflicted = pull.mergeable == false
        conflicts = pull.conflicts
        headSHA = pull.headSHA
        canChangeState = visitor.map { $0.id == pull.authorID || permission >= .write } ?? false
        canReopen = !isOpen && !pull.isMerged
        signedIn = visitor != nil
        canReview = visitor.map { $0.id != pull.authorID } ?? false
        mergedBy = pull.mergedByName
        mergeCommit = pull.mergeCommitSHA
        self.error = error
    }

    /// `Open`, `Closed` or `Merged`, and the badge's class.
    static func stateLabel(_ pull: PullRequest) -> (String, String) {
        pull.isMerged ? ("Merged", "merged") : pull.state == .open ? ("Open", "open") : ("Closed", "closed")
    }
}

/// The files a pull request changes (`pull_diff` template): the same for everyone who views
/// the same two commits, so it is rendered once and cached.
struct PullDiffView {
    let files: [DiffFilesView.File]
    let hiddenFiles: Int?
    let patchesCut: Bool
    let fileCount: Int
    let patchURL: String
}
