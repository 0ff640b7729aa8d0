import CairnModel
import CairnProtocol
import Foundation

/// One entry of a directory listing.
struct TreeItem {
    let name: String
    let url: String
    let isDirectory: Bool
    let size: String
    /// The newest commit that changed the entry, when known. (Not `lastCommit`: a missing
    /// value would let Mustache find the page's own `lastCommit` instead.)
    let changedBy: LastCommit?

    struct LastCommit {
        let summary: String
        let url: String
        let age: String
        /// The full date, for the title.
        let date: String
    }

    /// `entries` of directory `path` at `ref`, directories first, each by name, with the
    /// newest commit of each that `lastCommits` has.
    static func list(_ entries: [GitTreeEntry], repository: Repository, ref: String, path: String, lastCommits: [String: GitLastCommit] = [:]) -> [TreeItem] {
        let sorted = entries.sorted { ($0.type == "tree" ? 0 : 1, $0.path.lowercased()) < ($1.type == "tree" ? 0 : 1, $1.path.lowercased()) }
        return sorted.map { entry in
            let full = path.isEmpty ? entry.path : "\(path)/\(entry.path)"
            let kind = entry.type == "tree" ? "tree" : "blob"
            return TreeItem(
                name: entry.path, url: "/\(repository.fullName)/\(kind)/\(PageFormat.pathLink(ref))/\(PageFormat.pathLink(full))",
                isDirectory: entry.type == "tree", size: entry.size.map(PageFormat.size) ?? "",
                changedBy: lastCommits[entry.path].map { commit in
                    LastCommit(summary: commit.summary, url: "/\(repository.fullName)/commit/\(commit.sha)", age: PageFormat.age(git: commit.date), date: commit.date)
                })
        }
    }
}

/// A commit in a list or at the top of a tree.
struct CommitItem {
    let sha: String
    let shortSHA: String
    let summary: String
    let author: String
    let age: String
    let url: String
    var status: StatusMark? = nil

    init(_ commit: GitCommit, repository: Repository, status: StatusMark? = nil) {
        self.status = status
        sha = commit.sha
        shortSHA = String(commit.sha.prefix(7))
        summary = PageFormat.summary(commit.message)
        author = commit.author.name
        age = PageFormat.age(git: commit.author.date)
        url = "/\(repository.fullName)/commit/\(commit.sha)"
    }
}

/// A branch or tag in the switcher and the lists.
struct RefItem {
    let name: String
    let url: String
    let sha: String
    let shortSHA: String
    let selected: Bool
    /// The ref's archive link without its ending (`.zip`, `.tar.gz`).
    let archive: String
    var status: StatusMark? = nil
}

struct RepositoryHomeView {
    let empty: Bool
    let cloneURL: String
    /// `ssh://git@host:port/owner/name.git`, served by `cairn-sshd`.
    let sshCloneURL: String
    let defaultBranch: String
    let branches: [RefItem]
    let tags: [RefItem]
    let entries: [TreeItem]
    let lastCommit: CommitItem?
    let readme: String?
    let readmeName: String?
    let commitCount: String
    let size: String
    let commitsURL: String
    /// The default branch's archive link without its ending.
    let archive: String
}

struct TreeView {
    let ref: String
    let crumbs: [Crumb]
    let entries: [TreeItem]
    let lastCommit: CommitItem?
    let branches: [RefItem]
}

struct BlobView {
    struct Line {
        let number: Int
        let text: String
        /// The line highlighted (safe HTML), when it could be.
        let html: String?
    }

    let ref: String
    let crumbs: [Crumb]
    let size: String
    let rawURL: String
    let sourceURL: String
    let isMarkdownSource: Bool
    let previewURL: String
    let historyURL: String
    let blameURL: String
    let lines: [Line]
    let isBinary: Bool
    let isTooLarge: Bool
    let isImage: Bool
    let markdown: String?
}

struct CommitsView {
    let ref: String
    let path: String
    let commits: [CommitItem]
    let previous: String?
    let next: String?
}

struct CommitView {
    struct Parent {
        let shortSHA: String
        let url: String
    }

    let sha: String
    let summary: String
    let body: String
    let author: String
    let authorEmail: String
    let date: String
    let parents: [Parent]
    var status: StatusMark? = nil
    let files: [DiffFilesView.File]
    /// Every file the commit changed, shown or not.
    let fileCount: Int
    /// Files past `maxFilesShown`, not listed (nil for none).
    let hiddenFiles: Int?
    /// The diff was too large to read whole: later files show no diff.
    let patchesCut: Bool
    /// Only the files with a diff shown have their lines counted.
    let countsIncomplete: Bool
    let additions: Int
    let deletions: Int
    let patchURL: String
    let treeURL: String
}

struct RefsView {
    let isBranches: Bool
    let refs: [RefItem]
    let defaultBranch: String?
}
