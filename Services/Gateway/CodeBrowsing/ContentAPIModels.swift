import CairnModel
import CairnProtocol
import Foundation

/// A commit as GitHub's API shows one (`GET …/commits`, `…/commits/{ref}`).
struct APICommit: Encodable {
    struct Person: Encodable {
        let name: String
        let email: String
        let date: String
    }

    struct Inner: Encodable {
        let author: Person
        let committer: Person
        let message: String
        let tree: SHA
        let url: String
    }

    struct SHA: Encodable {
        let sha: String
        let url: String?
    }

    struct File: Encodable {
        let sha: String?
        let filename: String
        let previousFilename: String?
        let status: String
        let additions: Int
        let deletions: Int
        let changes: Int
        let patch: String?
    }

    struct Stats: Encodable {
        let additions: Int
        let deletions: Int
        let total: Int
    }

    let sha: String
    let commit: Inner
    let parents: [SHA]
    let url: String
    let htmlUrl: String
    let files: [File]?
    let stats: Stats?

    /// Changed files as GitHub lists them (a commit's, a comparison's, a pull request's).
    static func files(_ changes: [GitFileChange]) -> [File] {
        changes.map {
            File(sha: nil, filename: $0.path, previousFilename: $0.previousPath, status: $0.status, additions: $0.additions,
                 deletions: $0.deletions, changes: $0.additions + $0.deletions, patch: $0.patch)
        }
    }

    init(_ commit: GitCommit, repository: Repository, baseURL: String, files: [GitFileChange]? = nil) {
        let api = "\(baseURL)/api/v3/repos/\(repository.fullName)"
        sha = commit.sha
        self.commit = Inner(
            author: Person(name: commit.author.name, email: commit.author.email, date: commit.author.date),
            committer: Person(name: commit.committer.name, email: commit.committer.email, date: commit.committer.date),
            message: commit.message.trimmingCharacters(in: .newlines),
            tree: SHA(sha: commit.tree, url: "\(api)/git/trees/\(commit.tree)"),
            url: "\(api)/git/commits/\(commit.sha)")
        parents = commit.parents.map { SHA(sha: $0, url: "\(api)/commits/\($0)") }
        url = "\(api)/commits/\(commit.sha)"
        htmlUrl = "\(baseURL)/\(repository.fullName)/commit/\(commit.sha)"
        self.files = files.map(Self.files)
        stats = files.map { files in
            let added = files.reduce(0) { $0 + $1.additions }
            let removed = files.reduce(0) { $0 + $1.deletions }
            return Stats(additions: added, deletions: removed, total: added + removed)
        }
    }
}

/// A branch (`GET …/branches`).
struct APIBranch: Encodable {
    struct Commit: Encodable {
        let sha: String
        let url: String
    }

    let name: String
    let commit: Commit
    let protected: Bool
}

/// A tag (`GET …/tags`).
struct APITag: Encodable {
    let name: String
    let commit: APIBranch.Commit
    let zipballUrl: String
    let tarballUrl: String
}

/// A file or directory entry (`GET …/contents/{path}`, `…/readme`).
struct APIContent: Encodable {
    let type: String
    let name: String
    let path: String
    let sha: String
    let size: Int
    let url: String
    let htmlUrl: String
    let downloadUrl: String?
    let encoding: String?
    let content: String?

    init(entry: GitTreeEntry, directory: String, repository: Repository, ref: String, baseURL: String, content: Data? = nil) {
        let path = directory.isEmpty ? entry.path : "\(directory)/\(entry.path)"
        type = switch entry.type {
        case "tree": "dir"
        case "commit": "submodule"
        default: entry.mode == "120000" ? "symlink" : "file"
        }
        name = String(path.split(separator: "/").last ?? Substring(path))
        self.path = path
        sha = entry.sha
        size = entry.size ?? 0
        url = "\(baseURL)/api/v3/repos/\(repository.fullName)/contents/\(path)?ref=\(ref)"
        htmlUrl = "\(baseURL)/\(repository.fullName)/\(type == "dir" ? "tree" : "blob")/\(ref)/\(path)"
        downloadUrl = type == "file" ? "\(baseURL)/\(repository.fullName)/raw/\(ref)/\(path)" : nil
        encoding = content == nil ? nil : "base64"
        self.content = content?.base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
    }
}

/// A tree (`GET …/git/trees/{sha}`).
struct APITree: Encodable {
    struct Entry: Encodable {
        let path: String
        let mode: String
        let type: String
        let sha: String
        let size: Int?
        let url: String
    }

    let sha: String
    let url: String
    let tree: [Entry]
    let truncated: Bool
}
