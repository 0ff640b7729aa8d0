import CairnModel
import CairnProtocol
import CairnService
import Foundation
import HTTPTypes
import Hummingbird

/// GitHub's pull request API under `/api/v3/repos/{owner}/{repo}`: pulls (list, create, get,
/// update, commits, files, merge), review comments, reviews, the conversation's comments
/// (`/issues/{n}/comments`) and `compare/{base}...{head}`. Readers of the base repository see
/// and comment; signed-in readers open pull requests; writers merge; the author or a writer
/// edits, closes and reopens; comments are edited and deleted by their authors (and deleted by admins).
struct PullRequestAPIController: Sendable {
    let access: RepositoryAccess
    let pulls: PullRequestStore
    let service: PullRequestService
    let content: RepositoryContent
    let baseURL: String

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let repos = router.group("/api/v3/repos/:owner/:repo")
        repos.repository(.read, access).get("pulls") { request, context in
            let base = try context.resolvedRepository().repository
            let page = try Pagination(request)
            let stateName = request.uri.queryParameters["state"].map(String.init) ?? "open"
            guard let filter = PullRequestStore.Filter(rawValue: stateName), filter != .merged else {
                throw GatewayError.invalid("state must be open, closed or all")
            }
            let found = try await pulls.list(repositoryID: base.id, filter: filter, limit: page.perPage + 1, offset: page.offset)
            let shown = try await service.events.shape(Array(found.prefix(page.perPage)), base: base)
            return try APIEncoding.response(shown, headers: page.linkHeader(request, baseURL: baseURL, hasMore: found.count > page.perPage))
        }
        repos.repository(.read, access).post("pulls") { request, context in
            let base = try context.resolvedRepository().repository
            let user = try Self.writer(context)
            let input = try await APIEncoding.decode(CreatePull.self, from: request, context: context)
            let pull = try await service.open(base: base, author: user, title: input.title, body: input.body ?? "", head: input.head, baseRef: input.base)
            return try APIEncoding.response(try await service.events.shape(pull, base: base), status: .created)
        }
        repos.repository(.read, access).get("pulls/:number") { request, context in
            let (base, pull) = try await load(context)
            return try APIEncoding.response(try await service.events.shape(pull, base: base))
        }
        repos.repository(.read, access).patch("pulls/:number") { request, context in
            let (base, pull) = try await load(context)
            let user = try Self.writer(context)
            let permission = try context.resolvedRepository().permission
            guard user.id == pull.authorID || permission >= .write else {
                throw GatewayError.forbidden("Only the author and the repository's writers can change a pull request")
            }
            let input = try await APIEncoding.decode(UpdatePull.self, from: request, context: context)
            var updated = try await service.edit(pull, base: base, title: input.title, body: input.body, baseRef: input.base, by: user)
            if let stateName = input.state {
                guard let state = PullRequest.State(rawValue: stateName) else { throw GatewayError.invalid("state must be open or closed") }
                updated = try await service.setState(updated, base: base, state, by: user)
            }
            return try APIEncoding.response(try await service.events.shape(updated, base: base))
        }
        repos.repository(.read, access).get("pulls/:number/commits") { request, context in
            let (base, pull) = try await load(context)
            let comparison = try await compare(base, pull)
            return try APIEncoding.response(comparison.commits.map { APICommit($0, repository: base, baseURL: baseURL) })
        }
        repos.repository(.read, access).get("pulls/:number/files") { request, context in
            let (base, pull) = try await load(context)
            let comparison = try await compare(base, pull)
            return try APIEncoding.response(APICommit.files(comparison.files))
        }
        repos.repository(.read, access).get("pulls/:number/merge") { request, context in
            let (_, pull) = try await load(context)
            guard pull.isMerged else { throw GatewayError.notFound }
            return Response(status: .noContent)
        }
        repos.repository(.write, access).put("pulls/:number/merge") { request, context in
            let (base, pull) = try await load(context)
            let user = try Self.writer(context)
            let input = try await APIEncoding.decodeIfPresent(MergePull.self, from: request, context: context)
            let methodName = input?.mergeMethod ?? "merge"
            guard let method = PullMergeMethod(rawValue: methodName) else { throw GatewayError.invalid("merge_method must be merge, squash or rebase") }
            if let sha = input?.sha, !GitInput.isObjectID(sha) { throw GatewayError.invalid("sha must be 40 hexadecimal digits") }
            // A repository token's permission is at most write: it is never exempt as an admin.
            let adminExempt = try context.resolvedRepository().permission >= .admin
            let sha = try await service.merge(pull, base: base, method: method, by: user, adminExempt: adminExempt, title: input?.commitTitle, message: input?.commitMessage, expectedSHA: input?.sha)
            return try APIEncoding.response(MergeResult(sha: sha, merged: true, message: "Pull Request successfully merged"))
        }
        repos.repository(.read, access).get("pulls/:number/requested_reviewers") { request, context in
            let (_, pull) = try await load(context)
            let users = try await pulls.requestedReviewers(pullRequestID: pull.id).map { APIRepository.Owner($0.username, id: $0.id, baseURL: baseURL) }
            return try APIEncoding.response(RequestedReviewers(users: users, teams: []))
        }
        for method in [HTTPRequest.Method.post, .delete] {
            repos.repository(.read, access).on("pulls/:number/requested_reviewers", method: method) { request, context in
                let (base, pull) = try await load(context)
                let user = try Self.writer(context)
                let permission = try context.resolvedRepository().permission
                guard user.id == pull.authorID || permission >= .write else {
                    throw GatewayError.forbidden("Only the author and the repository's writers can ask for reviews")
                }
                let input = try await APIEncoding.decode(ReviewerList.self, from: request, context: context)
                if let teams = input.teamReviewers, !teams.isEmpty { throw GatewayError.invalid("team_reviewers: Cairn has no teams") }
                let logins = input.reviewers ?? []
                if method == .post {
                    try await service.requestReviewers(pull, base: base, logins: logins, by: user)
                } else {
                    var ids: [Int64] = []
                    for login in logins.prefix(15) { if let found = try await service.users.find(username: login) { ids.append(found.id) } }
                    try await pulls.removeReviewRequests(pullRequestID: pull.id, userIDs: ids)
                }
                return try APIEncoding.response(try await service.events.shape(pull, base: base), status: method == .post ? .created : .ok)
            }
        }
        addCommentRoutes(repos)
        repos.repository(.read, access).get("compare/:basehead") { request, context in
            let repository = try context.resolvedRepository().repository
            let basehead = try context.parameters.require("basehead")
            let parts = basehead.components(separatedBy: "...")
            guard parts.count == 2, parts.allSatisfy({ GitInput.revisionProblem($0) == nil }) else {
                throw GatewayError.invalid("compare takes {base}...{head}, two branches, tags or commit ids")
            }
            let comparison = try await content.compare(
                repository, base: try await content.commitID(repository, parts[0]), head: try await content.commitID(repository, parts[1]))
            return try APIEncoding.response(APIComparison(comparison, repository: repository, baseURL: baseURL))
        }
    }

    private func addCommentRoutes(_ repos: RouterGroup<GatewayContext>) {
        // The conversation: GitHub keeps it on the pull request's issue.
        repos.repository(.read, access).get("issues/:number/comments") { request, context in
            let (base, pull) = try await load(context)
            let comments = try await pulls.comments(pullRequestID: pull.id).filter { $0.anchor == nil && $0.reviewID == nil }
            return try APIEncoding.response(comments.map { APIPullComment($0, pull: pull, repository: base, baseURL: baseURL) })
        }
        repos.repository(.read, access).post("issues/:number/comments") { request, context in
            let (base, pull) = try await load(context)
            let user = try Self.writer(context)
            let input = try await APIEncoding.decode(NewComment.self, from: request, context: context)
            let comment = try await service.comment(pull, base: base, author: user, body: input.body, anchor: nil)
            return try APIEncoding.response(APIPullComment(comment, pull: pull, repository: base, baseURL: baseURL), status: .created)
        }
        repos.repository(.read, access).get("pulls/:number/comments") { request, context in
            let (base, pull) = try await load(context)
            let comments = try await pulls.comments(pullRequestID: pull.id).filter { $0.anchor != nil }
            return try APIEncoding.response(comments.map { APIPullComment($0, pull: pull, repository: base, baseURL: baseURL) })
        }
        repos.repository(.read, access).post("pulls/:number/comments") { request, context in
            let (base, pull) = try await load(context)
            let user = try Self.writer(context)
            let input = try await APIEncoding.decode(NewComment.self, from: request, context: context)
            let anchor = try await anchor(input, pull: pull, base: base)
            let comment = try await service.comment(pull, base: base, author: user, body: input.body, anchor: anchor)
            return try APIEncoding.response(APIPullComment(comment, pull: pull, repository: base, baseURL: baseURL), status: .created)
        }
        repos.repository(.read, access).get("pulls/:number/reviews") { request, context in
            let (base, pull) = try await load(context)
            return try APIEncoding.response(try await pulls.reviews(pullRequestID: pull.id).map { APIPullReview($0, pull: pull, repository: base, baseURL: baseURL) })
        }
        repos.repository(.read, access).post("pulls/:number/reviews") { request, context in
            let (base, pull) = try await load(context)
            let user = try Self.writer(context)
            let input = try await APIEncoding.decode(NewReview.self, from: request, context: context)
            guard let state = PullReview.State(event: input.event ?? "COMMENT") else { throw GatewayError.invalid("event must be APPROVE, REQUEST_CHANGES or COMMENT") }
            if state != .commented && user.id == pull.authorID { throw GatewayError.invalid("event: you cannot approve or request changes on your own pull request") }
            // A machine's token must not stand in for a person's review (it would meet required approvals).
            if state != .commented && context.caller.grant != nil { throw GatewayError.forbidden("A repository token cannot approve or request changes") }
            guard (input.comments?.count ?? 0) <= 50 else { throw GatewayError.invalid("comments: at most 50 in one review") }
            let commit = input.commitId ?? pull.headSHA
            var comments: [(body: String, anchor: PullComment.Anchor)] = []
            // One diff read for all of the review's comments, which sit on the same commit.
            var diff: GitComparison?
            for comment in input.comments ?? [] {
                let withCommit = NewComment(body: comment.body, commitId: commit, path: comment.path, line: comment.line, side: comment.side)
                if diff == nil, GitInput.isObjectID(commit) { diff = try await content.compare(base, base: pull.baseSHA, head: commit) }
                guard let anchor = try await anchor(withCommit, pull: pull, base: base, diff: diff) else { throw GatewayError.invalid("comments: each needs a path and a line") }
                comments.append((comment.body, anchor))
            }
            let review = try await service.review(pull, base: base, author: user, state: state, body: input.body ?? "", commit: commit, comments: comments)
            return try APIEncoding.response(APIPullReview(review, pull: pull, repository: base, baseURL: baseURL))
        }
        for kind in ["issues", "pulls"] {
            repos.repository(.read, access).patch("\(kind)/comments/:comment") { request, context in
                let (base, pull, comment) = try await ownComment(context, kind: kind, deleting: false)
                let input = try await APIEncoding.decode(EditedComment.self, from: request, context: context)
                let user = try Self.writer(context)
                try await service.change(comment, of: pull, base: base, permission: try context.resolvedRepository().permission, by: user, newBody: input.body)
                guard let updated = try await pulls.comment(id: comment.id) else { throw GatewayError.notFound }
                return try APIEncoding.response(APIPullComment(updated, pull: pull, repository: base, baseURL: baseURL))
            }
            repos.repository(.read, access).delete("\(kind)/comments/:comment") { request, context in
                let (base, pull, comment) = try await ownComment(context, kind: kind, deleting: true)
                try await service.change(comment, of: pull, base: base, permission: try context.resolvedRepository().permission, by: try Self.writer(context), newBody: nil)
                return Response(status: .noContent)
            }
        }
    }

    /// The base repository and its pull request `:number`; 404 when there is none.
    private func load(_ context: GatewayContext) async throws -> (Repository, PullRequest) {
        let base = try context.resolvedRepository().repository
        guard let number = Int64(try context.parameters.require("number")), number > 0,
              let pull = try await pulls.find(repositoryID: base.id, number: number) else { throw GatewayError.notFound }
        return (base, pull)
    }

    /// A comment of this repository's pull requests that the caller may change: their own, or
    /// any for an admin deleting it.
    private func ownComment(_ context: GatewayContext, kind: String, deleting: Bool) async throws -> (Repository, PullRequest, PullComment) {
        let resolved = try context.resolvedRepository()
        let user = try Self.writer(context)
        guard let id = Int64(try context.parameters.require("comment")), id > 0, let comment = try await pulls.comment(id: id),
              (comment.anchor != nil) == (kind == "pulls"),
              let pull = try await pulls.find(id: comment.pullRequestID), pull.repositoryID == resolved.repository.id else { throw GatewayError.notFound }
        guard comment.authorID == user.id || (deleting && resolved.permission >= .admin) else {
            throw GatewayError.forbidden("Only a comment's author can change it")
        }
        return (resolved.repository, pull, comment)
    }

    /// The line an inline comment names, checked against the diff it was made on.
    private func anchor(_ input: NewComment, pull: PullRequest, base: Repository, diff: GitComparison? = nil) async throws -> PullComment.Anchor? {
        guard let path = input.path, let line = input.line else {
            if input.path != nil || input.line != nil { throw GatewayError.invalid("an inline comment needs both path and line") }
            throw GatewayError.invalid("path and line: a review comment sits on a line of the diff")
        }
        let side = input.side ?? "RIGHT"
        guard side == "LEFT" || side == "RIGHT" else { throw GatewayError.invalid("side must be LEFT or RIGHT") }
        guard (1...10_000_000).contains(line) else { throw GatewayError.invalid("line must be a positive line number") }
        if let problem = GitInput.pathProblem(path), !path.isEmpty { throw GatewayError.invalid("path: \(problem)") }
        let commit = input.commitId ?? pull.headSHA
        guard GitInput.isObjectID(commit) else { throw GatewayError.invalid("commit_id must be 40 hexadecimal digits") }
        let comparison: GitComparison
        if let diff { comparison = diff } else { comparison = try await content.compare(base, base: pull.baseSHA, head: commit) }
        guard let file = comparison.files.first(where: { $0.path == path }) else {
            throw GatewayError.invalid("path: \(path) is not among the files this pull request changes")
        }
        guard DiffLine.contains(file.patch ?? "", side: side, line: line) else {
            throw GatewayError.invalid("line: \(side == "LEFT" ? "old" : "new") line \(line) of \(path) is not in the diff")
        }
        return PullComment.Anchor(commitSHA: commit, path: path, side: side, line: line)
    }

    /// What the pull request brings: its head against its base, as last synced.
    private func compare(_ base: Repository, _ pull: PullRequest) async throws -> GitComparison {
        guard GitInput.isObjectID(pull.headSHA), GitInput.isObjectID(pull.baseSHA) else { throw GatewayError.notFound }
        return try await content.compare(base, base: pull.baseSHA, head: pull.headSHA)
    }

    /// The signed-in caller whose credential may write (open, comment, review, merge) in the
    /// route's repository; a repository token acts only in its own.
    static func writer(_ context: GatewayContext) throws -> User {
        let repository = try context.resolvedRepository().repository
        if context.caller.grant != nil && context.caller.actor(in: repository) == nil {
            throw GatewayError.forbidden("A repository token works only in its own repository")
        }
        guard let user = context.caller.actor(in: repository) else { throw GatewayError.authenticationRequired }
        guard context.caller.credentialAllows(.write) else { throw GatewayError.forbidden("This token's scopes do not allow changes") }
        return user
    }

    struct CreatePull: Decodable {
        let title: String
        let head: String
        let base: String?
        let body: String?
    }

    struct UpdatePull: Decodable {
        let title: String?
        let body: String?
        let state: String?
        let base: String?
    }

    struct MergePull: Decodable {
        let commitTitle: String?
        let commitMessage: String?
        let sha: String?
        let mergeMethod: String?
    }

    /// `POST|DELETE …/requested_reviewers`: GitHub's body.
    struct ReviewerList: Decodable {
        let reviewers: [String]?
        let teamReviewers: [String]?
    }

    struct RequestedReviewers: Encodable {
        let users: [APIRepository.Owner]
        let teams: [String]
    }

    struct MergeResult: Encodable {
        let sha: String
        let merged: Bool
        let message: String
    }

    struct NewComment: Decodable {
        let body: String
        let commitId: String?
        let path: String?
        let line: Int?
        let side: String?
    }

    struct EditedComment: Decodable {
        let body: String
    }

    struct NewReview: Decodable {
        struct Comment: Decodable {
            let body: String
            let path: String?
            let line: Int?
            let side: String?
        }

        let body: String?
        let event: String?
        let commitId: String?
        let comments: [Comment]?
    }
}

/// `GET …/compare/{base}...{head}` as GitHub shapes it.
struct APIComparison: Encodable {
    let status: String
    let aheadBy: Int
    let behindBy: Int
    let totalCommits: Int
    let mergeBaseCommit: String?
    let commits: [APICommit]
    let files: [APICommit.File]

    init(_ comparison: GitComparison, repository: Repository, baseURL: String) {
        commits = comparison.commits.map { APICommit($0, repository: repository, baseURL: baseURL) }
        files = APICommit.files(comparison.files)
        aheadBy = comparison.aheadBy
        behindBy = comparison.behindBy
        totalCommits = comparison.aheadBy
        mergeBaseCommit = comparison.mergeBase
        status = switch (comparison.aheadBy > 0, comparison.behindBy > 0) {
        case (false, false): "identical"
        case (true, false): "ahead"
        case (false, true): "behind"
        case (true, true): "diverged"
        }
    }
}
