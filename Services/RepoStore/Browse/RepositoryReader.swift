import CairnProtocol
import Foundation

/// Reads refs, history, trees, blobs and diffs out of one repository with git's plumbing
/// commands. Revisions and paths are checked (`GitInput`) and always passed after
/// `--end-of-options` or as `<rev>:<path>` objects, so they can never become options.
struct RepositoryReader: Sendable {
    let git: Git
    let path: String

    func refs() async throws -> GitRefs {
        let output = try await git.run(["for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)", "refs/heads", "refs/tags"], in: path)
        var branches: [GitRef] = []
        var tags: [GitRef] = []
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3 else { continue }
            if fields[0].hasPrefix("refs/heads/") {
                branches.append(GitRef(name: String(fields[0].dropFirst(11)), sha: fields[1], target: nil))
            } else if fields[0].hasPrefix("refs/tags/") {
                tags.append(GitRef(name: String(fields[0].dropFirst(10)), sha: fields[1], target: fields[2].isEmpty ? nil : fields[2]))
            }
        }
        let head = try? await git.run(["symbolic-ref", "--quiet", "--short", "HEAD"], in: path).trimmingCharacters(in: .whitespacesAndNewlines)
        let headExists = head.map { name in branches.contains { $0.name == name } } ?? false
        return GitRefs(head: headExists ? head : nil, branches: branches, tags: tags)
    }

    /// Commits reachable from `revision`, newest first, optionally only those touching `file`.
    func log(revision: String, file: String?, limit: Int, skip: Int) async throws -> [GitCommit] {
        var arguments = ["log", "--format=\(Self.commitFormat)", "--max-count=\(limit)", "--skip=\(skip)", "--end-of-options", revision, "--"]
        if let file, !file.isEmpty { arguments.append(file) }
        return Self.parseCommits(try await git.run(arguments, in: path))
    }

    /// One commit and the files it changed against its first parent, each diff with
    /// `context` unchanged lines around every change.
    func commit(_ revision: String, context: Int = 3, patchLimit: Int = 1 << 20, countedFiles: Int = Self.countedFiles) async throws -> GitCommitDetail? {
        guard let commit = Self.parseCommits(try await git.run(["log", "-1", "--format=\(Self.commitFormat)", "--end-of-options", revision, "--"], in: path)).first else { return nil }
        let diff = try await changes(from: commit.parents.first ?? Self.emptyTree, to: commit.sha, context: context, patchLimit: patchLimit, countedFiles: countedFiles)
        return GitCommitDetail(commit: commit, files: diff.files, patchesCut: diff.cut, countsIncomplete: diff.countsIncomplete)
    }

    /// The files changed from `base` to `head` (commits or trees), each diff with `context`
    /// unchanged lines around every change, read up to a little over `patchLimit` bytes.
    func changes(from base: String, to head: String, context: Int = 3, patchLimit: Int = 1 << 20, countedFiles: Int = Self.countedFiles) async throws -> (files: [GitFileChange], cut: Bool, countsIncomplete: Bool) {
        // The list of changed files costs a comparison of trees; counting each file's lines
        // (`--numstat`) reads every blob, a second for 10,000 files: beyond `countedFiles`
        // the counts come from the diffs read, and the files past them have none.
        let listed = Self.parseRaw(try await git.run(["diff", "--raw", "-z", "-M", "--no-abbrev", base, head], in: path))
        let numstat = listed.count <= countedFiles ? try await git.run(["diff", "--numstat", "-z", "-M", base, head], in: path) : nil
        // At most a little over `patchLimit` bytes of diff are read: git stops there.
        let patches = try await git.output(["diff", "--no-color", "--no-ext-diff", "-M", "-U\(context)", base, head], in: path, upTo: patchLimit)
        // `--numstat` lists the files as `--raw` does, but without their kind of change.
        var changes = numstat.map(Self.parseNumstat) ?? listed
        if changes.count == listed.count {
            for index in changes.indices where listed[index].status == "changed" { changes[index].status = "changed" }
        }
        let files = Self.joinPatches(changes, patch: patches.text, patchLimit: patchLimit, cut: patches.cut, countLines: numstat == nil)
        return (files, patches.cut, numstat == nil)
    }

    /// The commits of `head` that `base` lacks, oldest first (the newest `limit` of them),
    /// and the files changed from the two's merge base to `head`: what a pull request shows.
    /// Both must be full commit ids or full ref names.
    func compare(base: String, head: String, context: Int = 3, limit: Int = 250, patchLimit: Int = 1 << 20) async throws -> GitComparison {
        let mergeBase = try await git.attempt(["merge-base", base, head], in: path)
        let from = mergeBase.succeeded ? mergeBase.output.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        let listed = Self.parseCommits(try await git.run(["log", "--format=\(Self.commitFormat)", "--max-count=\(limit + 1)", head, "^" + base, "--"], in: path))
        let diff = try await changes(from: from ?? Self.emptyTree, to: head, context: context, patchLimit: patchLimit)
        var comparison = GitComparison(mergeBase: from, commits: listed.prefix(limit).reversed(), files: diff.files, patchesCut: diff.cut, commitsCut: listed.count > limit)
        // "behind<TAB>ahead": the commits only base has, and those only head has.
        let counts = try await git.run(["rev-list", "--left-right", "--count", "\(base)...\(head)"], in: path)
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        if counts.count == 2 { (comparison.behindBy, comparison.aheadBy) = (counts[0], counts[1]) }
        return comparison
    }

    /// The most changed files whose lines are counted by `git diff --numstat`.
    static let countedFiles = 1000

    /// The entries of the tree at `revision:directory`, or of every tree below it when `recursive`.
    func tree(revision: String, directory: String, recursive: Bool) async throws -> [GitTreeEntry] {
        let object = directory.isEmpty ? "\(revision)^{tree}" : "\(revision):\(directory)"
        var arguments = ["ls-tree", "-l", "-z"]
        if recursive { arguments += ["-r", "-t"] }
        arguments += ["--end-of-options", object]
        let output = try await git.run(arguments, in: path)
        return output.split(separator: "\0").compactMap { record in
            guard let tab = record.firstIndex(of: "\t") else { return nil }
            let fields = record[..<tab].split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 4 else { return nil }
            return GitTreeEntry(mode: String(fields[0]), type: String(fields[1]), sha: String(fields[2]), size: Int(fields[3]), path: String(record[record.index(after: tab)...]))
        }
    }

    /// The newest commit that changed each entry of `directory` at `revision`, by entry
    /// name, found in one pass over the newest `limit` commits that touched the directory;
    /// entries changed only before those are left out.
    func lastCommits(revision: String, directory: String, limit: Int) async throws -> [String: GitLastCommit] {
        let prefix = directory.isEmpty ? "" : directory + "/"
        let output = try await git.run(
            ["log", "-z", "--name-only", "--no-renames", "--format=%x1e%H%x1f%aI%x1f%an%x1f%s", "--max-count=\(limit)", "--end-of-options", revision, "--"]
                + (directory.isEmpty ? [] : [directory]),
            in: path)
        return Self.parseLastCommits(output, prefix: prefix)
    }

    /// Reads `git log -z --name-only` records (`\u{1e}` id, date, author, subject split by
    /// `\u{1f}`, then the changed paths, each ended by NUL), newest first: each entry under
    /// `prefix` gets the first commit that names it.
    static func parseLastCommits(_ output: String, prefix: String) -> [String: GitLastCommit] {
        var found: [String: GitLastCommit] = [:]
        for record in output.split(separator: "\u{1e}") {
            var tokens = record.split(separator: "\0", omittingEmptySubsequences: false)[...]
            guard let header = tokens.popFirst() else { continue }
            let fields = header.split(separator: "\u{1f}", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4 else { continue }
            let commit = GitLastCommit(sha: fields[0], date: fields[1], author: fields[2], summary: fields[3])
            for token in tokens {
                let path = token.first == "\n" ? token.dropFirst() : token[...]
                guard !path.isEmpty, path.hasPrefix(prefix) else { continue }
                guard let entry = path.dropFirst(prefix.count).split(separator: "/", maxSplits: 1).first.map(String.init) else { continue }
                if found[entry] == nil { found[entry] = commit }
            }
        }
        return found
    }

    /// How many commits `revision` has (counted with the commit-graph when written) and the
    /// size of the repository's packed and loose objects on disk.
    func stats(revision: String) async throws -> GitRepositoryStats {
        let count = try await git.run(["rev-list", "--count", "--end-of-options", revision, "--"], in: path)
        let objects = try await git.run(["count-objects", "-v"], in: path)
        var kilobytes = 0
        for line in objects.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == "size" || parts[0] == "size-pack" { kilobytes += Int(parts[1]) ?? 0 }
        }
        return GitRepositoryStats(commits: Int(count.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, sizeBytes: kilobytes * 1024)
    }

    /// The commits that updating `ref` from `before` to `after` brought (for a new ref, those
    /// no other branch or tag had), the newest `limit` of them oldest first, each with its changed paths.
    func pushedCommits(ref: String, before: String, after: String, limit: Int) async throws -> GitPushedCommits {
        guard after != RefUpdate.zero else { return GitPushedCommits(commits: [], total: 0, forced: false) }
        var range: [String]
        if before == RefUpdate.zero {
            let isBranch = ref.hasPrefix("refs/heads/")
            let short = String(ref.split(separator: "/", maxSplits: 2).last ?? "")
            range = [after, "--not"] + (isBranch ? ["--exclude=\(short)", "--branches", "--tags"] : ["--branches", "--exclude=\(short)", "--tags"])
        } else {
            range = ["\(before)..\(after)"]
        }
        let total = Int(try await git.run(["rev-list", "--count"] + range, in: path).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let commits = Array(Self.parseCommits(try await git.run(["log", "--format=\(Self.commitFormat)", "--max-count=\(limit)"] + range + ["--"], in: path)).reversed())
        var forced = false
        if before != RefUpdate.zero {
            forced = (try? await git.run(["merge-base", "--is-ancestor", before, after], in: path)) == nil
        }
        guard !commits.isEmpty else { return GitPushedCommits(commits: [], total: total, forced: forced) }
        let changes = try await git.run(["diff-tree", "--stdin", "-r", "--name-status", "-z", "--no-renames", "--root"], in: path, input: commits.map(\.sha).joined(separator: "\n") + "\n")
        return GitPushedCommits(commits: Self.parseChangedPaths(changes, commits: commits), total: total, forced: forced)
    }

    /// Bytes per language of the files at `revision`.
    func languages(revision: String) async throws -> [String: Int] {
        let entries = try await tree(revision: revision, directory: "", recursive: true)
        return Languages.breakdown(entries.filter { $0.type == "blob" }.map { ($0.path, $0.size ?? 0) })
    }

    /// Splits `git diff-tree --stdin -z --name-status` output by commit: each commit's id,
    /// then status and path pairs. The ids are known, so a path that looks like one cannot mislead.
    static func parseChangedPaths(_ output: String, commits: [GitCommit]) -> [GitPushedCommit] {
        var byCommit: [String: (added: [String], removed: [String], modified: [String])] = [:]
        var tokens = output.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)[...]
        var remaining = Set(commits.map(\.sha))
        var current: String?
        while let token = tokens.popFirst() {
            if remaining.contains(token) {
                remaining.remove(token)
                current = token
                continue
            }
            guard let sha = current, let file = tokens.popFirst() else { continue }
            switch token {
            case "A": byCommit[sha, default: ([], [], [])].added.append(file)
            case "D": byCommit[sha, default: ([], [], [])].removed.append(file)
            case "": continue
            default: byCommit[sha, default: ([], [], [])].modified.append(file)
            }
        }
        return commits.map { commit in
            let paths = byCommit[commit.sha] ?? ([], [], [])
            return GitPushedCommit(commit: commit, added: paths.added, removed: paths.removed, modified: paths.modified)
        }
    }

    /// The type, id and size of `revision:file`, or of the tree of `revision` when `file` is
    /// empty (a blob id names itself), or nil.
    func object(revision: String, file: String) async throws -> GitObjectInfo? {
        let name = file.isEmpty ? "\(revision)^{tree}" : "\(revision):\(file)"
        if file.isEmpty, revision.count == 40, let info = try await lookUp(revision), info.type == "blob" { return info }
        return try await lookUp(name)
    }

    private func lookUp(_ name: String) async throws -> GitObjectInfo? {
        guard let output = try? await git.run(["cat-file", "--batch-check=%(objecttype) %(objectname) %(objectsize)"], in: path, input: name + "\n") else { return nil }
        let fields = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        guard fields.count == 3, let size = Int(fields[2]) else { return nil }
        return GitObjectInfo(type: String(fields[0]), sha: String(fields[1]), size: size)
    }

    static let emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    static let commitFormat = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"

    static func parseCommits(_ output: String) -> [GitCommit] {
        output.split(separator: "\u{1e}").compactMap { record in
            let fields = record.drop(while: \.isNewline).split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 10 else { return nil }
            return GitCommit(
                sha: fields[0], tree: fields[1], parents: fields[2].split(separator: " ").map(String.init),
                author: GitSignature(name: fields[3], email: fields[4], date: fields[5]),
                committer: GitSignature(name: fields[6], email: fields[7], date: fields[8]),
                message: fields[9...].joined(separator: "\0"))
        }
    }

}
