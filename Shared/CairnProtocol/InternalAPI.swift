/// The daemons of Cairn, with the port each listens on unless configured otherwise.
public enum Daemon: String, Sendable, CaseIterable, Codable {
    case gateway, repostore, blobstore, worker, stream

    /// The executable's name, e.g. `cairn-gateway`.
    public var executable: String { "cairn-\(rawValue)" }

    /// The default port, all below 32768 so they never collide with client ports.
    public var defaultPort: Int {
        switch self {
        case .gateway: 8080
        case .repostore: 8081
        case .blobstore: 8082
        case .worker: 8083
        case .stream: 8084
        }
    }

    /// Only the gateway faces users; the others bind loopback and want signed requests.
    public var isInternal: Bool { self != .gateway }
}

/// The body of `/readyz`: whether each store the daemon needs answers.
public struct ReadinessReport: Sendable, Codable, Hashable {
    public var daemon: String
    public var ready: Bool
    /// One entry per dependency: `ok`, or what went wrong.
    public var checks: [String: String]

    public init(daemon: String, ready: Bool, checks: [String: String]) {
        self.daemon = daemon
        self.ready = ready
        self.checks = checks
    }
}

/// Header names of Cairn's internal requests.
public enum InternalHeader {
    /// Carries the signed token over method, path and time.
    public static let signature = "X-Cairn-Signature"
    /// Echoes the request id on every response.
    public static let requestID = "X-Request-Id"
}

/// The task queues of DESIGN.md.
public enum QueueName: String, Sendable, CaseIterable, Codable {
    case `default`, webhooks, maintenance
}

/// One ref changed by a push, as git's hooks report it (all zeros for a created or deleted ref).
public struct RefUpdate: Sendable, Codable, Hashable {
    public static let zero = String(repeating: "0", count: 40)

    public var old: String
    public var new: String
    public var ref: String

    public init(old: String, new: String, ref: String) {
        self.old = old
        self.new = new
        self.ref = ref
    }

    /// Reads one `<old> <new> <ref>` line; nil when the line is not one.
    public init?(hookLine line: some StringProtocol) {
        let fields = line.split(separator: " ")
        guard fields.count == 3, fields[0].count >= 40, fields[1].count >= 40 else { return nil }
        self.init(old: String(fields[0]), new: String(fields[1]), ref: String(fields[2]))
    }
}

/// Headers the gateway adds when it hands a request to an internal daemon.
public enum ForwardedHeader {
    /// The id of the signed-in user on whose behalf the request is made, if any.
    public static let user = "X-Cairn-User"
}

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

    public init(commit: GitCommit, files: [GitFileChange]) {
        self.commit = commit
        self.files = files
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

/// Rules for revisions and paths that reach git from outside.
public enum GitInput {
    /// Why `revision` (a branch, tag or commit id) cannot be used, or nil. Refuses option-like
    /// text, revision syntax that walks elsewhere (`..`, `@{`, `:`) and control characters.
    public static func revisionProblem(_ revision: String) -> String? {
        if revision.isEmpty || revision.utf8.count > 255 { return "revision must be 1 to 255 characters" }
        if revision.hasPrefix("-") { return "revision must not start with '-'" }
        if revision.contains("..") || revision.contains("@{") || revision.contains(":") || revision.contains("\\") {
            return "revision must be a branch, tag or commit id"
        }
        if revision.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || " ~^?*[".unicodeScalars.contains($0) }) {
            return "revision contains characters git does not allow"
        }
        return nil
    }

    /// Why `path` (inside a repository) cannot be used, or nil: no absolute paths, no `.` or
    /// `..` components, no NUL or control characters.
    public static func pathProblem(_ path: String) -> String? {
        if path.utf8.count > 4096 { return "path is too long" }
        if path.hasPrefix("/") { return "path must be relative to the repository root" }
        if path.unicodeScalars.contains(where: { $0.value < 0x20 }) { return "path must not contain control characters" }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) where component == ".." || component == "." {
            return "path must not contain '.' or '..' components"
        }
        return nil
    }
}
