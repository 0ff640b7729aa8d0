import CairnDatabase
import CairnModel
import CairnProtocol
import CairnService
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// What the API and the pages do with pull requests, in one place: open (the head is a
/// branch of the base repository or of a fork of it the author may read), sync with the
/// repository store, edit, close, reopen and merge, each with its `pull_request` webhook.
struct PullRequestService: Sendable {
    let pulls: PullRequestStore
    let repositories: RepositoryStore
    let users: UserStore
    let events: PullRequestEvents
    let repostore: InternalClient
    let content: RepositoryContent
    let social: SocialGraph
    let traffic: TrafficEvents
    let branchRules: BranchRuleService
    let logger: Logger

    /// Opens a pull request from `head` (`branch` of `base`, or `owner:branch` of `owner`'s
    /// fork of `base`) into `baseRef` (the default branch when nil).
    func open(base: Repository, author: User, title: String, body: String, head: String, baseRef: String?) async throws -> PullRequest {
        let (headRepository, headRef) = try await headBranch(head, base: base, viewer: author)
        // Until the push task records the default branch, it is the branch HEAD names.
        var defaultBranch = base.defaultBranch
        if defaultBranch == nil { defaultBranch = try? await repostore.getJSON(GitRefs.self, "/repos/\(base.id)/refs")?.head }
        guard let baseRef = baseRef ?? defaultBranch else { throw GatewayError.invalid("base: the repository has no default branch yet; name one") }
        if let problem = GitInput.revisionProblem(baseRef) { throw GatewayError.invalid("base: \(problem)") }
        if headRepository.id == base.id && headRef == baseRef { throw GatewayError.invalid("head and base are the same branch (\(baseRef))") }
        do {
            let pull = try await pulls.create(
                base: base, author: author, title: title, body: body, headRepositoryID: headRepository.id, headRef: headRef, baseRef: baseRef
            ) { number in
                let state = try await sync(base: base, number: number, headRepositoryID: headRepository.id, headRef: headRef, baseRef: baseRef)
                guard state.headSHA != nil else { throw GatewayError.invalid("head: \(headRepository.fullName) has no branch \(headRef)") }
                guard state.baseSHA != nil else { throw GatewayError.invalid("base: \(base.fullName) has no branch \(baseRef)") }
                guard state.commits > 0 else { throw GatewayError.invalid("No commits between \(base.ownerName):\(baseRef) and \(headRepository.ownerName):\(headRef)") }
                return state
            }
            await requestCodeOwners(pull, base: base)
            try await events.pullRequest("opened", pull, base: base, sender: author)
            traffic.pullRequest(.opened, repository: base.id, actor: author.id, number: pull.number)
            await mail(pull, base: base, actor: author, action: "opened", excerpt: pull.body, toWatchers: true)
            return pull
        } catch let error as ModelError {
            throw GatewayError(error)
        }
    }

    /// The repository and branch `head` names: `branch` in `base`, or `owner:branch` in
    /// `owner`'s fork of `base` (which `viewer` must be able to read).
    private func headBranch(_ head: String, base: Repository, viewer: User) async throws -> (Repository, String) {
        let parts = head.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let (owner, branch) = parts.count == 2 ? (parts[0], parts[1]) : (base.ownerName, head)
        if let problem = GitInput.revisionProblem(branch) { throw GatewayError.invalid("head: \(problem)") }
        if owner.caseInsensitiveCompare(base.ownerName) == .orderedSame { return (base, branch) }
        // As on GitHub, only those who may push to a fork propose its branches: a reader of a
        // private fork must not copy its commits into the base repository.
        guard let fork = try await repositories.fork(of: base.id, ownerName: owner),
              try await repositories.permission(of: viewer, on: fork) >= .write else {
            throw GatewayError.invalid("head: \(owner) has no fork of \(base.fullName) that you can push to")
        }
        if fork.isPrivate && !base.isPrivate { throw GatewayError.invalid("head: \(fork.fullName) is private; its branches cannot be proposed to a public repository") }
        return (fork, branch)
    }

    /// Asks the repository store to bring the pull request's refs up to date and records
    /// where the branches stand.
    @discardableResult
    func sync(_ pull: PullRequest, base: Repository) async throws -> PullRequest {
        let state = try await sync(base: base, number: pull.number, headRepositoryID: pull.headRepositoryID ?? 0, headRef: pull.headRef, baseRef: pull.baseRef)
        try await pulls.recordSync(pull.id, state)
        var synced = pull
        synced.apply(state)
        return synced
    }

    private func sync(base: Repository, number: Int64, headRepositoryID: Int64, headRef: String, baseRef: String) async throws -> PullSyncState {
        do {
            return try await repostore.postJSON(
                PullSyncState.self, "/repos/\(base.id)/pulls/\(number)/sync",
                json: PullSyncRequest(headRepositoryID: headRepositoryID, headRef: headRef, baseRef: baseRef), timeout: .minutes(10))
        } catch let error as InternalCallError {
            throw GatewayError.unavailable("The repository store could not compare the branches: \(error)")
        }
    }

    /// Changes title, body or base branch (then syncs); an `edited` event.
    func edit(_ pull: PullRequest, base: Repository, title: String?, body: String?, baseRef: String?, by user: User) async throws -> PullRequest {
        if let baseRef {
            if let problem = GitInput.revisionProblem(baseRef) { throw GatewayError.invalid("base: \(problem)") }
            if pull.headRepositoryID == base.id && pull.headRef == baseRef { throw GatewayError.invalid("base: it is the head branch") }
            let branches = try await repostore.getJSON(GitRefs.self, "/repos/\(base.id)/refs")?.branches ?? []
            guard branches.contains(where: { $0.name == baseRef }) else { throw GatewayError.invalid("base: \(base.fullName) has no branch \(baseRef)") }
        }
        guard title != nil || body != nil || baseRef != nil else { return pull }
        do {
            try await pulls.update(pull.id, title: title, body: body, baseRef: baseRef)
        } catch let error as ModelError {
            throw GatewayError(error)
        }
        guard var edited = try await pulls.find(id: pull.id) else { throw GatewayError.notFound }
        if baseRef != nil && edited.state == .open { edited = try await sync(edited, base: base) }
        var changes: [String: JSONValue] = [:]
        if edited.title != pull.title { changes["title"] = .object(["from": .string(pull.title)]) }
        if edited.body != pull.body { changes["body"] = .object(["from": .string(pull.body)]) }
        if edited.baseRef != pull.baseRef { changes["base"] = .object(["ref": .object(["from": .string(pull.baseRef)])]) }
        guard !changes.isEmpty else { return edited }
        try await events.pullRequest("edited", edited, base: base, sender: user, changes: changes)
        return edited
    }

    /// Closes or reopens (a merged pull request stays closed); `closed` or `reopened` event.
    func setState(_ pull: PullRequest, base: Repository, _ state: PullRequest.State, by user: User) async throws -> PullRequest {
        if pull.isMerged && state == .open { throw GatewayError.invalid("state: a merged pull request cannot be reopened") }
        let changed: Bool
        do {
            changed = try await pulls.setState(pull.id, state)
        } catch let error as ModelError {
            throw GatewayError(error)
        }
        guard var updated = try await pulls.find(id: pull.id) else { throw GatewayError.notFound }
        guard changed else { return updated }
        if state == .open { updated = try await sync(updated, base: base) }
        try await events.pullRequest(state == .open ? "reopened" : "closed", updated, base: base, sender: user)
        await mail(updated, base: base, actor: user, action: state == .open ? "reopened" : "closed")
        return updated
    }

    /// Merges by `method` into the base branch; the head must still be at `expectedSHA` when
    /// given. The repository store refuses (409) a head or base that moved meanwhile.
    /// `adminExempt`: the caller's own credential is an admin's (not a repository token), so
    /// rules that do not enforce admins do not hold it.
    func merge(
        _ pull: PullRequest, base: Repository, method: PullMergeMethod, by user: User, adminExempt: Bool, title: String?, message: String?, expectedSHA: String?
    ) async throws -> String {
        guard pull.state == .open, !pull.isMerged else { throw GatewayError.notAllowed("The pull request is closed") }
        let pull = try await sync(pull, base: base)
        if let expectedSHA, expectedSHA != pull.headSHA {
            throw GatewayError.conflict("Head branch was modified (it is at \(pull.headSHA) now). Review and try the merge again.")
        }
        guard pull.commitCount > 0 else { throw GatewayError.notAllowed("Pull Request is not mergeable: the base branch has every commit of the head") }
        guard pull.mergeable == true else {
            let reason = pull.conflicts.isEmpty ? "its branches cannot be merged now" : "it conflicts in \(pull.conflicts.prefix(20).joined(separator: ", "))"
            throw GatewayError.notAllowed("Pull Request is not mergeable: \(reason)")
        }
        let (needs, rules, facts) = try await branchRules.mergeNeeds(pull, base: base, by: user, adminExempt: adminExempt)
        if !needs.isEmpty { throw GatewayError.notAllowed("\(pull.baseRef) is protected: \(needs.joined(separator: "; "))") }
        let author = try await users.find(id: pull.authorID) ?? user
        let asked = PullMergeRequest(
            method: method, baseRef: pull.baseRef, expectedHeadSHA: pull.headSHA,
            message: Self.message(method, pull: pull, title: title, message: message),
            author: Self.signature(author), committer: Self.signature(user), pusherID: user.id, rules: rules, facts: facts)
        let result: PullMergeResult
        do {
            result = try await repostore.postJSON(PullMergeResult.self, "/repos/\(base.id)/pulls/\(pull.number)/merge", json: asked, user: user.id, timeout: .minutes(10))
        } catch InternalCallError.refused(_, let status, let body) where [403, 409, 422].contains(status) {
            let said = InternalCallError.reason(body)
            throw status == 409 ? GatewayError.conflict(said) : GatewayError.notAllowed(said)
        } catch let error as InternalCallError {
            throw GatewayError.unavailable("The repository store could not merge: \(error)")
        }
        if try await !pulls.markMerged(pull.id, by: user.id, sha: result.sha, headSHA: pull.headSHA) {
            // The push task may have recorded this very merge first (it marks merged what a push
            // landed); the event below has the same key as its own, so it is delivered once.
            guard let recorded = try await pulls.find(id: pull.id), recorded.isMerged, recorded.mergeCommitSHA == result.sha else {
                throw GatewayError.conflict("The pull request was merged or closed meanwhile")
            }
        }
        traffic.pullRequest(.merged, repository: base.id, actor: user.id, number: pull.number)
        if let merged = try await pulls.find(id: pull.id) {
            try await events.pullRequest("closed", merged, base: base, sender: user, key: "merged-\(pull.id)")
            await mail(merged, base: base, actor: user, action: "merged")
        }
        logger.info("pull.merged", metadata: ["repo.id": "\(base.id)", "pull.number": "\(pull.number)", "pull.method": "\(method.rawValue)"])
        return result.sha
    }

    /// Deletes a merged pull request's head branch, if `user` may push to its repository and
    /// it is still where the pull request left it (a push since keeps it: 409).
    func deleteHeadBranch(_ pull: PullRequest, base: Repository, by user: User) async throws {
        guard let headID = pull.headRepositoryID, let head = headID == base.id ? base : try await repositories.find(id: headID) else {
            throw GatewayError.invalid("The head repository no longer exists")
        }
        let permission = try await repositories.permission(of: user, on: head)
        guard permission >= .write else {
            throw GatewayError.forbidden("Only those who may push to \(head.fullName) can delete its branches")
        }
        guard pull.isMerged else { throw GatewayError.invalid("Only a merged pull request's head branch is deleted here") }
        do {
            try await repostore.expectSuccess(
                .POST, "/repos/\(head.id)/branches/delete",
                json: BranchDeletion(branch: pull.headRef, expectedSHA: pull.headSHA, pusherID: user.id, rules: try await branchRules.inForce(head, adminExempt: permission >= .admin)), user: user.id)
        } catch InternalCallError.refused(_, let status, let body) where [403, 404, 409, 422].contains(status) {
            let said = InternalCallError.reason(body)
            switch status {
            case 409: throw GatewayError.conflict(said)
            case 403: throw GatewayError.forbidden(said)
            default: throw GatewayError.invalid(said)
            }
        } catch let error as InternalCallError {
            throw GatewayError.unavailable("The repository store could not delete the branch: \(error)")
        }
    }

    /// Asks the owners (by the base branch's CODEOWNERS) of the paths `pull` changes for a
    /// review: those who exist and may read the repository, not its author. Best effort: a
    /// missing or unreadable file asks no one, and a failure never fails the pull request.
    func requestCodeOwners(_ pull: PullRequest, base: Repository) async {
        do {
            guard GitInput.isObjectID(pull.baseSHA), GitInput.isObjectID(pull.headSHA), let owners = try await content.codeOwners(base, at: pull.baseSHA) else { return }
            let changed = try await content.compare(base, base: pull.baseSHA, head: pull.headSHA).files.prefix(DiffFilesView.maxFilesShown)
            let paths = changed.flatMap { [$0.path] + ($0.previousPath.map { [$0] } ?? []) }
            let names = Set(owners.owners(of: paths).joined())
            // As on GitHub, code owners are those who may push.
            var ids: [Int64] = []
            for name in names.sorted().prefix(Self.maxRequestedReviewers) {
                guard let user = try await users.find(username: name), user.id != pull.authorID,
                      try await repositories.permission(of: user, on: base) >= .write else { continue }
                ids.append(user.id)
            }
            try await pulls.requestReviews(pullRequestID: pull.id, userIDs: ids, fromCodeOwners: true)
        } catch {
            logger.warning("pull.code_owners_failed", metadata: ["repo.id": "\(base.id)", "pull.number": "\(pull.number)", "error": "\(error)"])
        }
    }

    /// The most reviewers one pull request waits for.
    static let maxRequestedReviewers = 50

    /// Asks `logins` for a review (the author or a writer asks) on an open pull request; as on
    /// GitHub, each must be a collaborator who may push, and not the author. A
    /// `review_requested` event for each newly asked.
    func requestReviewers(_ pull: PullRequest, base: Repository, logins: [String], by user: User) async throws {
        guard pull.state == .open else { throw GatewayError.invalid("Reviews are asked for on open pull requests only") }
        guard logins.count <= 15 else { throw GatewayError.invalid("reviewers: at most 15 at a time") }
        var asked: [User] = []
        for login in logins {
            guard let reviewer = try await users.find(username: login), try await repositories.permission(of: reviewer, on: base) >= .write else {
                throw GatewayError.invalid("reviewers: \(login) is not a collaborator who may push to \(base.fullName)")
            }
            guard reviewer.id != pull.authorID else { throw GatewayError.invalid("reviewers: the author cannot review their own pull request") }
            asked.append(reviewer)
        }
        let already = Set(try await pulls.requestedReviewers(pullRequestID: pull.id).map(\.id))
        let new = asked.filter { !already.contains($0.id) }
        guard already.count + new.count <= Self.maxRequestedReviewers else {
            throw GatewayError.invalid("reviewers: a pull request waits for at most \(Self.maxRequestedReviewers) reviewers")
        }
        try await pulls.requestReviews(pullRequestID: pull.id, userIDs: new.map(\.id))
        for reviewer in new {
            try await events.pullRequest("review_requested", pull, base: base, sender: user, key: "review-requested-\(pull.id)-\(reviewer.id)-\(UUID().uuidString)")
        }
    }

    /// A comment by `author` on the conversation, or with `anchor` on a line of the diff
    /// (a `pull_request_review_comment` event); mail to those taking part.
    func comment(_ pull: PullRequest, base: Repository, author: User, body: String, anchor: PullComment.Anchor?) async throws -> PullComment {
        let comment = try await Self.modelCall { try await pulls.addComment(pullRequestID: pull.id, author: author, body: body, anchor: anchor) }
        if anchor != nil {
            try await events.review(nil, comment: comment, pull, base: base, sender: author)
        } else {
            try await events.issueComment("created", comment, pull, base: base, sender: author)
        }
        await mail(pull, base: base, actor: author, action: anchor == nil ? "commented on" : "commented on a line of", excerpt: body)
        return comment
    }

    /// Changes the text of `comment` (its author only), or deletes it (its author, or an admin).
    func change(_ comment: PullComment, of pull: PullRequest, base: Repository, permission: Permission, by user: User, newBody: String?) async throws {
        if let newBody {
            guard comment.authorID == user.id else { throw GatewayError.forbidden("Only a comment's author can change it") }
            try await Self.modelCall { try await pulls.updateComment(comment.id, body: newBody) }
            if comment.anchor == nil, let edited = try await pulls.comment(id: comment.id) {
                try await events.issueComment("edited", edited, pull, base: base, sender: user)
            }
        } else {
            guard comment.authorID == user.id || permission >= .admin else { throw GatewayError.forbidden("Only a comment's author can delete it") }
            try await pulls.deleteComment(comment.id)
            if comment.anchor == nil { try await events.issueComment("deleted", comment, pull, base: base, sender: user) }
        }
    }

    /// A review by `author` at `commit`, with its inline comments; it ends the author's review
    /// request. Nobody approves or requests changes on their own pull request.
    func review(
        _ pull: PullRequest, base: Repository, author: User, state: PullReview.State, body: String, commit: String,
        comments: [(body: String, anchor: PullComment.Anchor)]
    ) async throws -> PullReview {
        if state != .commented && author.id == pull.authorID {
            throw GatewayError.invalid("event: you cannot approve or request changes on your own pull request")
        }
        let review = try await Self.modelCall {
            try await pulls.addReview(pullRequestID: pull.id, author: author, state: state, body: body, commitSHA: commit, comments: comments)
        }
        try await pulls.removeReviewRequests(pullRequestID: pull.id, userIDs: [author.id])
        try await events.review(review, comment: nil, pull, base: base, sender: author)
        let action = switch state {
        case .approved: "approved"
        case .changesRequested: "requested changes on"
        case .commented: "reviewed"
        }
        await mail(pull, base: base, actor: author, action: action, excerpt: body)
        return review
    }

    /// Mail (`pull_request` kind) about `pull` to those who take part in it (its author,
    /// commenters, reviewers, requested reviewers) and, for a new one, the repository's
    /// watchers: those who may read the repository, not `actor`. Best effort: a failure is
    /// logged, never the action's.
    func mail(_ pull: PullRequest, base: Repository, actor: User, action: String, excerpt: String = "", toWatchers: Bool = false) async {
        do {
            var ids = Set(try await pulls.participants(pullRequestID: pull.id))
            if toWatchers { ids.formUnion(try await social.subjects(.watch, of: base.id)) }
            ids.remove(actor.id)
            let readers = try await repositories.readers(among: ids.sorted(), of: base)
            guard !readers.isEmpty else { return }
            let details: [String: JSONValue] = [
                "repository_id": .number(Double(base.id)), "number": .number(Double(pull.number)), "title": .string(pull.title),
                "actor": .string(actor.username), "action": .string(action), "excerpt": .string(String(excerpt.prefix(2000))),
            ]
            let tasks = readers.map { AccountMail.task(.pullRequest, to: $0, details: details) }
            try await events.outbox.transaction { try await $0.enqueue(tasks, queue: QueueName.default.rawValue) }
        } catch {
            logger.warning("pull.mail_failed", metadata: ["repo.id": "\(base.id)", "pull.number": "\(pull.number)", "error": "\(error)"])
        }
    }

    /// Runs a store call, its `ModelError` told as the gateway's.
    @discardableResult
    static func modelCall<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as ModelError { throw GatewayError(error) }
    }

    /// The message of the commit a merge makes, GitHub's by default.
    static func message(_ method: PullMergeMethod, pull: PullRequest, title: String?, message: String?) -> String {
        let subject = title ?? (method == .squash ? "\(pull.title) (#\(pull.number))" : "Merge pull request #\(pull.number) from \(pull.headLabel)")
        let body = message ?? (method == .squash ? pull.body : pull.title)
        return body.isEmpty ? subject : "\(subject)\n\n\(body)"
    }

    /// A person as a commit names them: their user name, at an address that is not their mail.
    static func signature(_ user: User) -> GitSignature {
        GitSignature(name: user.username, email: "\(user.username)@users.noreply.cairn.invalid", date: "")
    }
}
