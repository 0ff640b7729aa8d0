import CairnProtocol
import Foundation
import Hummingbird
import Logging

/// Tests and makes pull request merges in a bare repository with plumbing alone:
/// `merge-tree --write-tree` for the merged tree, `commit-tree` for the commits, and an
/// `update-ref` that names the base branch's old value, so a push that lands meanwhile makes
/// the merge fail instead of being overwritten. The base branch's update is recorded as a
/// push (by the person merging): its webhooks, mails and caches follow as for any push.
struct PullMerger: Sendable {
    let git: Git
    let spool: PushSpool
    let pushes: PushRecorder
    var logger = Logger(label: "cairn.pulls")

    /// The most commits a rebase merge replays.
    static let maxRebasedCommits = 1000

    /// Points `refs/pull/{n}/head` at the head branch (fetched from the head repository when it
    /// is another one), and `refs/pull/{n}/merge` at a test merge when the two merge cleanly.
    /// A head branch that is gone leaves `refs/pull/{n}/head` where it was.
    func sync(base: String, number: Int64, headRepository: String?, headRef: String, baseRef: String) async throws -> PullSyncState {
        let headName = "refs/pull/\(number)/head"
        let mergeName = "refs/pull/\(number)/merge"
        // Only a branch that is not there counts as gone: a fetch that fails otherwise throws.
        var headSHA = try await headRepository.asyncMap { try await resolve("refs/heads/\(headRef)", in: $0) } ?? nil
        if let headRepository, let sha = headSHA {
            if headRepository == base {
                try await git.run(["update-ref", headName, sha], in: base)
            } else {
                try await git.run(
                    ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", headRepository, "+\(sha):\(headName)"],
                    in: base, timeLimit: .seconds(600))
                headSHA = try await resolve(headName, in: base)
            }
        }
        let baseSHA = try await resolve("refs/heads/\(baseRef)", in: base)
        guard let headSHA, let baseSHA else {
            try await git.run(["update-ref", "-d", mergeName], in: base)
            let gone = headSHA == nil ? "head branch \(headRef)" : "base branch \(baseRef)"
            return PullSyncState(headSHA: headSHA, baseSHA: baseSHA, mergeable: nil, conflicts: [], mergeSHA: nil, commits: 0, problem: "The \(gone) no longer exists")
        }
        let counted = try await git.run(["rev-list", "--count", headSHA, "^" + baseSHA], in: base).trimmingCharacters(in: .whitespacesAndNewlines)
        // No count is no answer, never "nothing to merge" (which would mark the pull request merged).
        guard let commits = Int(counted) else { throw RepoStoreError.gitFailed(command: "rev-list --count", status: "no count", stderr: String(counted.prefix(200))) }
        let merged = try await mergeTree(baseSHA, headSHA, in: base)
        guard case .clean(let tree) = merged else {
            try await git.run(["update-ref", "-d", mergeName], in: base)
            let (conflicts, problem): ([String], String?) = switch merged {
            case .conflicts(let files): (files, nil)
            case .impossible(let reason): ([], reason)
            case .clean: ([], nil)
            }
            return PullSyncState(headSHA: headSHA, baseSHA: baseSHA, mergeable: false, conflicts: conflicts, mergeSHA: nil, commits: commits, problem: problem)
        }
        let identity = GitSignature(name: "Cairn", email: "noreply@cairn.invalid", date: "")
        let mergeSHA = try await commitTree(tree, parents: [baseSHA, headSHA], message: "Merge \(headSHA) into \(baseSHA)\n", author: identity, committer: identity, in: base)
        try await git.run(["update-ref", mergeName, mergeSHA], in: base)
        return PullSyncState(headSHA: headSHA, baseSHA: baseSHA, mergeable: true, conflicts: [], mergeSHA: mergeSHA, commits: commits, problem: nil)
    }

    /// Lands pull request `number` on its base branch by `asked.method`; 409 when the head
    /// moved since the caller looked, when the two conflict, or when the base branch moved
    /// while the merge was made (nothing is changed then).
    func merge(repository: Int64, path: String, number: Int64, _ asked: PullMergeRequest) async throws -> PullMergeResult {
        guard let head = try await resolve("refs/pull/\(number)/head", in: path) else {
            throw HTTPError(.notFound, message: "Pull request \(number) has no head here; sync it first")
        }
        guard head == asked.expectedHeadSHA else {
            throw HTTPError(.conflict, message: "The head branch moved to \(head) since \(asked.expectedHeadSHA); look at the new commits and merge again")
        }
        guard let base = try await resolve("refs/heads/\(asked.baseRef)", in: path) else {
            throw HTTPError(.unprocessableContent, message: "The base branch \(asked.baseRef) no longer exists")
        }
        if try await git.attempt(["merge-base", "--is-ancestor", head, base], in: path).succeeded {
            throw HTTPError(.unprocessableContent, message: "The base branch \(asked.baseRef) already has every commit of the head")
        }
        let tip: String
        switch asked.method {
        case .merge:
            tip = try await commitTree(try await cleanTree(base, head, in: path), parents: [base, head], message: asked.message, author: asked.committer, committer: asked.committer, in: path)
        case .squash:
            tip = try await commitTree(try await cleanTree(base, head, in: path), parents: [base], message: asked.message, author: asked.author, committer: asked.committer, in: path)
        case .rebase:
            tip = try await rebase(head, onto: base, committer: asked.committer, in: path)
        }
        // A squash of a head already squashed in would be an empty commit: nothing to land.
        let trees = try await git.run(["rev-parse", tip + "^{tree}", base + "^{tree}"], in: path).split(separator: "\n")
        guard tip != base, trees.count == 2, trees[0] != trees[1] else {
            throw HTTPError(.unprocessableContent, message: "The head brings nothing the base branch does not have")
        }
        // Whether the head holds the base's tip is the store's to say: the base may have moved
        // since the gateway looked.
        var facts = asked.facts ?? PullMergeFacts(approvals: 0, codeOwnersApproved: false, passingContexts: [])
        facts.upToDate = try await git.attempt(["merge-base", "--is-ancestor", base, head], in: path).succeeded
        try await moveBranch(
            asked.baseRef, from: base, to: tip, repository: repository, pusher: asked.pusherID, reason: "merge pull request #\(number)",
            rules: asked.rules, merge: facts, in: path)
        logger.info("pull.merged", metadata: ["repo.id": "\(repository)", "pull.number": "\(number)", "pull.method": "\(asked.method.rawValue)"])
        return PullMergeResult(sha: tip)
    }

    /// What `merge-tree` made of two commits.
    enum MergedTree {
        case clean(tree: String)
        case conflicts([String])
        /// git refused to merge them (no common history, say): why, in its words.
        case impossible(String)
    }

    func mergeTree(_ base: String, _ head: String, in path: String) async throws -> MergedTree {
        let result = try await git.attempt(["merge-tree", "--write-tree", "-z", "--name-only", "--no-messages", base, head], in: path)
        let fields = result.output.split(separator: "\0", omittingEmptySubsequences: true).map(String.init)
        if result.succeeded, let tree = fields.first { return .clean(tree: tree) }
        if result.status.contains("(1)"), !fields.isEmpty {
            var seen = Set<String>()
            return .conflicts(fields.dropFirst().filter { seen.insert($0).inserted })
        }
        return .impossible(result.error.isEmpty ? "git could not merge the two (\(result.status))" : result.error)
    }

    /// The merged tree of `base` and `head`, or a 409 naming the conflicting files.
    private func cleanTree(_ base: String, _ head: String, in path: String) async throws -> String {
        switch try await mergeTree(base, head, in: path) {
        case .clean(let tree): return tree
        case .conflicts(let files): throw HTTPError(.conflict, message: "The branches conflict in \(files.prefix(20).joined(separator: ", "))")
        case .impossible(let reason): throw HTTPError(.unprocessableContent, message: reason)
        }
    }

    /// The head's commits replayed one by one on `base`, each keeping its author and message;
    /// `head` itself when `base` is one of its ancestors (a fast-forward).
    private func rebase(_ head: String, onto base: String, committer: GitSignature, in path: String) async throws -> String {
        if try await git.attempt(["merge-base", "--is-ancestor", base, head], in: path).succeeded { return head }
        let merges = try await git.run(["rev-list", "--merges", "--count", head, "^" + base], in: path).trimmingCharacters(in: .whitespacesAndNewlines)
        guard merges == "0" else { throw HTTPError(.unprocessableContent, message: "A rebase cannot replay merge commits; merge or squash instead") }
        let commits = try await git.run(["rev-list", "--reverse", "--max-count=\(Self.maxRebasedCommits + 1)", head, "^" + base], in: path)
            .split(separator: "\n").map(String.init)
        guard commits.count <= Self.maxRebasedCommits else {
            throw HTTPError(.unprocessableContent, message: "A rebase replays at most \(Self.maxRebasedCommits) commits; merge or squash instead")
        }
        var tip = base
        for commit in commits {
            // git 2.39's merge-tree takes no merge base: a stand-in commit with the tip's tree
            // and the replayed commit's parent makes that parent the two's merge base.
            guard let parent = try await resolve(commit + "^", in: path) else {
                throw HTTPError(.unprocessableContent, message: "The head and the base share no history; a rebase cannot replay it")
            }
            let standIn = try await git.run(["commit-tree", tip + "^{tree}", "-p", parent], in: path, environment: Self.identity(nil, nil), input: "stand-in\n")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let tree: String
            switch try await mergeTree(standIn, commit, in: path) {
            case .clean(let merged): tree = merged
            case .conflicts(let files):
                throw HTTPError(.conflict, message: "Commit \(commit.prefix(10)) conflicts with the base in \(files.prefix(20).joined(separator: ", ")); merge or squash instead")
            case .impossible(let reason): throw HTTPError(.unprocessableContent, message: reason)
            }
            let fields = try await git.run(["log", "-1", "--date=raw", "--format=%an%x00%ae%x00%ad%x00%B", commit], in: path).split(separator: "\0", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4 else { throw RepoStoreError.gitFailed(command: "log", status: "unreadable commit \(commit)", stderr: "") }
            let author = GitSignature(name: String(fields[0]), email: String(fields[1]), date: String(fields[2]))
            tip = try await commitTree(tree, parents: [tip], message: String(fields[3]), author: author, committer: committer, in: path)
        }
        return tip
    }

    /// Deletes `refs/heads/{branch}` if it is still at `sha`, as a push by `pusher` would (409
    /// when it moved, 404 when it is gone); the default branch (HEAD's) is refused.
    func deleteBranch(_ branch: String, at sha: String, repository: Int64, pusher: Int64, rules: BranchRulesInForce?, in path: String) async throws {
        let head = try await git.attempt(["symbolic-ref", "--quiet", "HEAD"], in: path).output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard head != "refs/heads/\(branch)" else { throw HTTPError(.unprocessableContent, message: "\(branch) is the default branch") }
        guard try await resolve("refs/heads/\(branch)", in: path) != nil else { throw HTTPError(.notFound, message: "No branch \(branch)") }
        try await moveBranch(branch, from: sha, to: nil, repository: repository, pusher: pusher, reason: "delete merged head branch", rules: rules, in: path)
    }

    /// Moves `refs/heads/{branch}` from `old` to `new` (deletes it when `new` is nil) as a
    /// push by `pusher` would, so the push's task and event follow; a 409 when the branch is
    /// no longer at `old`, a 403 with the reason when the branch rules forbid the change
    /// (`merge`: what the gateway found of the pull request being merged).
    private func moveBranch(
        _ branch: String, from old: String, to new: String?, repository: Int64, pusher: Int64, reason: String,
        rules: BranchRulesInForce?, merge: PullMergeFacts? = nil, in path: String
    ) async throws {
        if let rules {
            let branchGuard = BranchGuard(rules: rules, pusherID: pusher)
            let refusal = try await branchGuard.refusal(ref: "refs/heads/\(branch)", old: old, new: new ?? RefUpdate.zero, merge: merge) { older, newer in
                try await git.attempt(["merge-base", "--is-ancestor", older, newer], in: path).succeeded
            }
            if let refusal { throw HTTPError(.forbidden, message: refusal) }
        }
        let push = UUID().uuidString.lowercased()
        spool.claim(push)
        defer { spool.release(push) }
        var environment = ReceiveChecks.environment(extra: [("core.logAllRefUpdates", "always")])
        environment["CAIRN_SPOOL"] = spool.folder
        environment["CAIRN_PUSH_ID"] = push
        environment["CAIRN_REPO_ID"] = String(repository)
        environment["CAIRN_PUSHER"] = String(pusher)
        let change = new.map { ["refs/heads/\(branch)", $0, old] } ?? ["-d", "refs/heads/\(branch)", old]
        let moved = try await git.attempt(["update-ref", "-m", reason] + change, in: path, environment: environment)
        guard moved.succeeded else {
            throw HTTPError(.conflict, message: "The branch \(branch) moved meanwhile; nothing was changed, try again")
        }
        await pushes.record(push: push, logger: logger)
    }

    /// A new commit of `tree` on `parents`.
    private func commitTree(_ tree: String, parents: [String], message: String, author: GitSignature, committer: GitSignature, in path: String) async throws -> String {
        let arguments = ["commit-tree", tree] + parents.flatMap { ["-p", $0] }
        return try await git.run(arguments, in: path, environment: Self.identity(author, committer), input: message.hasSuffix("\n") ? message : message + "\n")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// git's author and committer variables; Cairn's own name where one is not given.
    private static func identity(_ author: GitSignature?, _ committer: GitSignature?) -> [String: String] {
        let cairn = GitSignature(name: "Cairn", email: "noreply@cairn.invalid", date: "")
        let (author, committer) = (author ?? cairn, committer ?? cairn)
        var values = [
            "GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": committer.name, "GIT_COMMITTER_EMAIL": committer.email,
        ]
        if !author.date.isEmpty { values["GIT_AUTHOR_DATE"] = author.date }
        if !committer.date.isEmpty { values["GIT_COMMITTER_DATE"] = committer.date }
        return values
    }

    /// The commit `name` points at, or nil.
    private func resolve(_ name: String, in path: String) async throws -> String? {
        let found = try await git.attempt(["rev-parse", "--verify", "--quiet", "--end-of-options", name + "^{commit}"], in: path)
        let sha = found.output.trimmingCharacters(in: .whitespacesAndNewlines)
        return found.succeeded && GitInput.isObjectID(sha) ? sha : nil
    }
}
