// What the repository store reports about a repository's contents, shared with the gateway.

/// A person and time on a commit.
public struct GitSignature: Sendable, Codable, Hashable {
    public var name: String
    public var email: String
    public var date: String

    public init(name: String, email: String, date: String) {
        self.name = name
        self.email = email
        self.date = date
    }
}

/// A commit as the repository store reports it.
public struct GitCommit: Sendable, Codable, Hashable {
    public var sha: String
    public var tree: String
    public var parents: [String]
    public var author: GitSignature
    public var committer: GitSignature
    public var message: String

    public init(sha: String, tree: String, parents: [String], author: GitSignature, committer: GitSignature, message: String) {
        self.sha = sha
        self.tree = tree
        self.parents = parents
        self.author = author
        self.committer = committer
        self.message = message
    }
}

/// One file a commit changed, with its unified diff.
public struct GitFileChange: Sendable, Codable, Hashable {
    public var path: String
    public var previousPath: String?
    /// `added`, `removed`, `modified` or `renamed`.
    public var status: String
    public var additions: Int
    public var deletions: Int
    /// nil for binary files.
    public var patch: String?

    public init(path: String, previousPath: String?, status: String, additions: Int, deletions: Int, patch: String?) {
        self.path = path
        self.previousPath = previousPath
        self.status = status
        self.additions = additions
        self.deletions = deletions
        self.patch = patch
    }
}

/// A commit with the files it changed.
public struct GitCommitDetail: Sendable, Codable, Hashable {
    public var commit: GitCommit
    public var files: [GitFileChange]
    /// True when the diff was too large to read whole: files from the first without a patch
    /// on were left out of it (their names and counts are all there).
    public var patchesCut: Bool?
    /// True for a commit of so many files that only those with a patch have their lines counted.
    public var countsIncomplete: Bool?

    public init(commit: GitCommit, files: [GitFileChange], patchesCut: Bool = false, countsIncomplete: Bool = false) {
        self.commit = commit
        self.files = files
        self.patchesCut = patchesCut
        self.countsIncomplete = countsIncomplete
    }
}

/// A branch or tag and the commit it points at (for annotated tags, `target` is the commit).
public struct GitRef: Sendable, Codable, Hashable {
    public var name: String
    public var sha: String
    public var target: String?

    public init(name: String, sha: String, target: String?) {
        self.name = name
        self.sha = sha
        self.target = target
    }

    /// The commit this ref leads to.
    public var commit: String { target ?? sha }
}

/// A repository's refs: HEAD's branch, the branches and the tags.
public struct GitRefs: Sendable, Codable, Hashable {
    public var head: String?
    public var branches: [GitRef]
    public var tags: [GitRef]

    public init(head: String?, branches: [GitRef], tags: [GitRef]) {
        self.head = head
        self.branches = branches
        self.tags = tags
    }
}

/// One entry of a tree.
public struct GitTreeEntry: Sendable, Codable, Hashable {
    public var mode: String
    /// `blob`, `tree` or `commit` (a submodule).
    public var type: String
    public var sha: String
    /// Blob size in bytes; nil for trees.
    public var size: Int?
    /// The path from the tree that was listed.
    public var path: String

    public init(mode: String, type: String, sha: String, size: Int?, path: String) {
        self.mode = mode
        self.type = type
        self.sha = sha
        self.size = size
        self.path = path
    }
}

/// The newest commit that changed an entry of a directory (`GET /repos/{id}/last-commits`).
public struct GitLastCommit: Sendable, Codable, Hashable {
    public var sha: String
    /// The author date, ISO 8601.
    public var date: String
    public var author: String
    /// The message's first line.
    public var summary: String

    public init(sha: String, date: String, author: String, summary: String) {
        self.sha = sha
        self.date = date
        self.author = author
        self.summary = summary
    }
}

/// What a path at a revision is: its object's type, id and size.
public struct GitObjectInfo: Sendable, Codable, Hashable {
    public var type: String
    public var sha: String
    public var size: Int

    public init(type: String, sha: String, size: Int) {
        self.type = type
        self.sha = sha
        self.size = size
    }
}

/// A repository's commit count at one revision and its size on disk.
public struct GitRepositoryStats: Sendable, Codable, Hashable {
    public var commits: Int
    public var sizeBytes: Int

    public init(commits: Int, sizeBytes: Int) {
        self.commits = commits
        self.sizeBytes = sizeBytes
    }
}

/// A first commit to write into a new repository (the README offered by the new-repository
/// form), on branch `main`.
public struct InitialCommit: Sendable, Codable, Hashable {
    public var path: String
    public var content: String
    public var message: String
    public var authorName: String
    public var authorEmail: String

    public init(path: String, content: String, message: String, authorName: String, authorEmail: String) {
        self.path = path
        self.content = content
        self.message = message
        self.authorName = authorName
        self.authorEmail = authorEmail
    }
}

/// A commit a push brought, with the paths it added, removed and modified against its first parent.
public struct GitPushedCommit: Sendable, Codable, Hashable {
    public var commit: GitCommit
    public var added: [String]
    public var removed: [String]
    public var modified: [String]

    public init(commit: GitCommit, added: [String], removed: [String], modified: [String]) {
        self.commit = commit
        self.added = added
        self.removed = removed
        self.modified = modified
    }
}

/// What one ref update of a push brought: its newest commits (oldest first, at most the
/// limit asked for), how many there were in all, and whether the update rewrote history.
public struct GitPushedCommits: Sendable, Codable, Hashable {
    public var commits: [GitPushedCommit]
    public var total: Int
    public var forced: Bool

    public init(commits: [GitPushedCommit], total: Int, forced: Bool) {
        self.commits = commits
        self.total = total
        self.forced = forced
    }
}

/// Who last changed each line of a file: `git blame` at one commit.
public struct GitBlame: Sendable, Codable, Hashable {
    /// A commit that some lines come from.
    public struct Commit: Sendable, Codable, Hashable {
        public var author: String
        /// Seconds since 1970, the author's time.
        public var time: Int
        public var summary: String

        public init(author: String, time: Int, summary: String) {
            self.author = author
            self.time = time
            self.summary = summary
        }
    }

    /// Lines `start` (1-based) to `start + count - 1` of the file, from one commit.
    public struct Range: Sendable, Codable, Hashable {
        public var sha: String
        public var start: Int
        public var count: Int

        public init(sha: String, start: Int, count: Int) {
            self.sha = sha
            self.start = start
            self.count = count
        }
    }

    /// The commit blamed, resolved from the revision asked for.
    public var commit: String
    public var commits: [String: Commit]
    /// In line order, covering every line.
    public var ranges: [Range]
    public var lines: [String]

    public init(commit: String, commits: [String: Commit], ranges: [Range], lines: [String]) {
        self.commit = commit
        self.commits = commits
        self.ranges = ranges
        self.lines = lines
    }
}
