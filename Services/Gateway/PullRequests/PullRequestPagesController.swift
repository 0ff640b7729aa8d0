import CairnModel
import CairnProtocol
import CairnService
import Foundation
import HTTPTypes
import Hummingbird

/// Pull request pages: the list, a form to open one, and each pull request's three tabs
/// (conversation, commits, files changed) with comments, reviews, inline comments, the
/// merge box for writers and close/reopen for the author and writers. Every form carries
/// the CSRF token; private repositories are 404 to those who may not read them.
struct PullRequestPagesController: Sendable {
    let pages: Pages
    let repositoryPages: RepositoryPages
    let pulls: PullRequestStore
    let service: PullRequestService
    let statuses: CommitStatusService
    let content: RepositoryContent
    let highlighting: CodeHighlighting
    let cache: FragmentCache

    static let perPage = 30

    func addRoutes(to routes: RouterGroup<GatewayContext>) {
        let router = repositoryPages.routes(routes, requiring: .read)
        router.get("/:owner/:repo/pulls") { request, context in
            let page = try await repositoryPages.load(request, context)
            let stateName = request.uri.queryParameters["state"].map(String.init) ?? "open"
            guard let filter = PullRequestStore.Filter(rawValue: stateName) else { throw GatewayError.invalid("state must be open, closed, merged or all") }
            let number = try QueryNumber.read(request, "page", in: 1...100_000, default: 1)
            let found = try await pulls.list(repositoryID: page.repository.id, filter: filter, limit: Self.perPage + 1, offset: (number - 1) * Self.perPage)
            let view = PullListView(
                fullName: page.repository.fullName, state: stateName, open: filter == .open, closed: filter == .closed,
                pulls: found.prefix(Self.perPage).map { PullListView.Item($0, fullName: page.repository.fullName) },
                openCount: try await pulls.openCount(repositoryID: page.repository.id), signedIn: page.visitor.user != nil,
                next: found.count > Self.perPage ? "?state=\(stateName)&page=\(number + 1)" : nil)
            return render(page, "pulls", view, title: "Pull requests · \(page.repository.fullName)")
        }
        router.get("/:owner/:repo/pulls/new") { request, context in
            let page = try await repositoryPages.load(request, context)
            let query = request.uri.queryParameters
            let form = NewPullView.Form(head: query["head"].map(String.init) ?? "", base: query["base"].map(String.init) ?? page.repository.defaultBranch ?? "main", title: "", body: "")
            return try await newPull(page, form, error: nil, status: .ok)
        }
        router.post("/:owner/:repo/pulls") { request, context in
            let page = try await repositoryPages.load(request, context)
            guard let user = page.visitor.user else { throw GatewayError.authenticationRequired }
            let form = try await pages.form(request, page.visitor)
            let fields = NewPullView.Form(head: form.text("head"), base: form.text("base"), title: form.text("title"), body: form["body"] ?? "")
            do {
                let pull = try await service.open(
                    base: page.repository, author: user, title: fields.title, body: fields.body, head: fields.head, baseRef: fields.base.isEmpty ? nil : fields.base)
                return pages.redirect("/\(page.repository.fullName)/pull/\(pull.number)")
            } catch GatewayError.invalid(let message) {
                return try await newPull(page, fields, error: message, status: .unprocessableContent)
            }
        }
        router.get("/:owner/:repo/pull/:number") { request, context in
            let name = try context.parameters.require("number")
            if name.hasSuffix(".diff") {
                let (page, pull) = try await load(request, context, number: String(name.dropLast(5)))
                return try await rawDiff(page, pull)
            }
            let (page, pull) = try await load(request, context)
            return try await show(page, pull, tab: .conversation, request: request)
        }
        router.get("/:owner/:repo/pull/:number/commits") { request, context in
            let (page, pull) = try await load(request, context)
            return try await show(page, pull, tab: .commits, request: request)
        }
        router.get("/:owner/:repo/pull/:number/files") { request, context in
            let (page, pull) = try await load(request, context)
            return try await show(page, pull, tab: .files, request: request)
        }
        router.post("/:owner/:repo/pull/:number/comment") { request, context in
            try await act(request, context) { page, pull, user, form in
                let body = form["body"] ?? ""
                var anchor: PullComment.Anchor?
                if !form.text("path").isEmpty {
                    anchor = try await inlineAnchor(form, pull: pull, base: page.repository)
                }
                let comment = try await service.comment(pull, base: page.repository, author: user, body: body, anchor: anchor)
                return anchor == nil ? "#comment-\(comment.id)" : "/files#comment-\(comment.id)"
            }
        }
        for action in ["edit", "delete"] {
            router.post("/:owner/:repo/pull/:number/comments/:comment/\(action)") { request, context in
                try await act(request, context) { page, pull, user, form in
                    guard let id = Int64(try context.parameters.require("comment")), let comment = try await pulls.comment(id: id),
                          comment.pullRequestID == pull.id else { throw GatewayError.notFound }
                    try await service.change(comment, of: pull, base: page.repository, permission: page.permission, by: user, newBody: action == "edit" ? form["body"] ?? "" : nil)
                    return action == "edit" ? "#comment-\(id)" : ""
                }
            }
        }
        router.post("/:owner/:repo/pull/:number/review") { request, context in
            try await act(request, context) { page, pull, user, form in
                guard let state = PullReview.State(event: form.text("event")) else { throw GatewayError.invalid("Choose to comment, approve or request changes") }
                let review = try await service.review(pull, base: page.repository, author: user, state: state, body: form["body"] ?? "", commit: pull.headSHA, comments: [])
                return "#review-\(review.id)"
            }
        }
        router.post("/:owner/:repo/pull/:number/reviewers") { request, context in
            try await act(request, context) { page, pull, user, form in
                guard user.id == pull.authorID || page.permission >= .write else { throw GatewayError.forbidden("Only the author and the repository's writers can ask for reviews") }
                try await service.requestReviewers(pull, base: page.repository, logins: [form.text("reviewer")], by: user)
                return "#reviewers"
            }
        }
        router.post("/:owner/:repo/pull/:number/merge") { request, context in
            try await act(request, context) { page, pull, user, form in
                guard page.permission >= .write else { throw GatewayError.forbidden("Only the repository's writers can merge") }
                guard let method = PullMergeMethod(rawValue: form.text("method")) else { throw GatewayError.invalid("Choose merge, squash or rebase") }
                let expected = form.text("sha")
                _ = try await service.merge(pull, base: page.repository, method: method, by: user, adminExempt: page.permission >= .admin, title: nil, message: nil, expectedSHA: GitInput.isObjectID(expected) ? expected : nil)
                // The merge is done: a head branch that cannot be deleted stays, and its button shows.
                if form["delete_branch"] == "on", let merged = try await pulls.find(id: pull.id) {
                    do { try await service.deleteHeadBranch(merged, base: page.repository, by: user) } catch {}
                }
                return ""
            }
        }
        router.post("/:owner/:repo/pull/:number/delete-branch") { request, context in
            try await act(request, context) { page, pull, user, _ in
                try await service.deleteHeadBranch(pull, base: page.repository, by: user)
                return ""
            }
        }
        router.post("/:owner/:repo/pull/:number/state") { request, context in
            try await act(request, context) { page, pull, user, form in
                guard user.id == pull.authorID || page.permission >= .write else { throw GatewayError.forbidden("Only the author and the repository's writers can close or reopen it") }
                guard let state = PullRequest.State(rawValue: form.text("state")) else { throw GatewayError.invalid("state must be open or closed") }
                _ = try await service.setState(pull, base: page.repository, state, by: user)
                return ""
            }
        }
    }

    /// The repository page and its pull request `:number`; 404 when there is none.
    private func load(_ request: Request, _ context: GatewayContext, number name: String? = nil, page loaded: RepositoryPage? = nil) async throws -> (RepositoryPage, PullRequest) {
        let page: RepositoryPage
        if let loaded { page = loaded } else { page = try await repositoryPages.load(request, context) }
        guard let number = Int64(try name ?? context.parameters.require("number")), number > 0,
              let pull = try await pulls.find(repositoryID: page.repository.id, number: number) else { throw GatewayError.notFound }
        return (page, pull)
    }

    /// A form posted on a pull request by a signed-in reader: `change` does it and says where
    /// on the page to land (an anchor, or `/files…`); a refusal shows the conversation again
    /// with the reason.
    private func act(
        _ request: Request, _ context: GatewayContext,
        _ change: @Sendable (RepositoryPage, PullRequest, User, PageForm) async throws -> String
    ) async throws -> Response {
        // The form's token is checked before anything else is looked up.
        let page = try await repositoryPages.load(request, context)
        guard let user = page.visitor.user else { throw GatewayError.authenticationRequired }
        let form = try await pages.form(request, page.visitor)
        let (_, pull) = try await load(request, context, page: page)
        do {
            let landing = try await change(page, pull, user, form)
            let target = "/\(page.repository.fullName)/pull/\(pull.number)"
            return pages.redirect(landing.hasPrefix("/") ? target + landing : target + landing)
        } catch let error as GatewayError {
            switch error {
            case .invalid(let message), .notAllowed(let message), .conflict(let message):
                let current = try await pulls.find(id: pull.id) ?? pull
                return try await show(page, current, tab: .conversation, request: request, error: message, status: error.status)
            default:
                throw error
            }
        }
    }

    /// `…/pull/{n}.diff`: the files changed, as one plain-text diff.
    private func rawDiff(_ page: RepositoryPage, _ pull: PullRequest) async throws -> Response {
        guard GitInput.isObjectID(pull.headSHA), GitInput.isObjectID(pull.baseSHA) else { throw GatewayError.notFound }
        let comparison = try await content.compare(page.repository, base: pull.baseSHA, head: pull.headSHA)
        var text = ""
        for file in comparison.files {
            text += file.patch ?? "diff --git a/\(file.path) b/\(file.path)\n(diff too large to show)\n"
            if !text.hasSuffix("\n") { text += "\n" }
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "private, no-store", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
            body: .init(byteBuffer: .init(string: text)))
    }

    private func inlineAnchor(_ form: PageForm, pull: PullRequest, base: Repository) async throws -> PullComment.Anchor {
        let path = form.text("path")
        guard let line = Int(form.text("line")), (1...10_000_000).contains(line) else { throw GatewayError.invalid("line must be a line number of the diff") }
        let side = form.text("side").isEmpty ? "RIGHT" : form.text("side")
        guard side == "LEFT" || side == "RIGHT" else { throw GatewayError.invalid("side must be LEFT or RIGHT") }
        if let problem = GitInput.pathProblem(path) { throw GatewayError.invalid("path: \(problem)") }
        guard GitInput.isObjectID(pull.headSHA), GitInput.isObjectID(pull.baseSHA) else { throw GatewayError.invalid("The pull request has no diff to comment on") }
        let comparison = try await content.compare(base, base: pull.baseSHA, head: pull.headSHA)
        guard let file = comparison.files.first(where: { $0.path == path }), DiffLine.contains(file.patch ?? "", side: side, line: line) else {
            throw GatewayError.invalid("\(side == "LEFT" ? "Old" : "New") line \(line) of \(path) is not in this pull request's diff")
        }
        return PullComment.Anchor(commitSHA: pull.headSHA, path: path, side: side, line: line)
    }

    private func newPull(_ page: RepositoryPage, _ form: NewPullView.Form, error: String?, status: HTTPResponse.Status) async throws -> Response {
        // A branch of this repository is compared before opening; a fork's head shows once opened.
        var commits: [CommitItem] = []
        var files: [NewPullView.FileItem] = []
        if !form.head.isEmpty, !form.head.contains(":"), GitInput.revisionProblem(form.head) == nil, GitInput.revisionProblem(form.base) == nil,
           let comparison = try? await content.compare(page.repository, base: "refs/heads/\(form.base)", head: "refs/heads/\(form.head)") {
            commits = comparison.commits.map { CommitItem($0, repository: page.repository) }
            files = comparison.files.map { NewPullView.FileItem(path: $0.path, additions: $0.additions, deletions: $0.deletions) }
        }
        let view = NewPullView(
            fullName: page.repository.fullName, form: form, error: error, signedIn: page.visitor.user != nil, commits: commits, files: files,
            compared: !commits.isEmpty)
        return render(page, "pull_new", view, title: "New pull request · \(page.repository.fullName)", status: status)
    }

    private func show(_ page: RepositoryPage, _ pull: PullRequest, tab: PullView.Tab, request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let fullName = page.repository.fullName
        // The commits tab shows neither, the files tab only the comments on lines.
        let comments = tab == .commits ? [] : try await pulls.comments(pullRequestID: pull.id).filter { tab == .conversation || $0.anchor != nil }
        let reviews = tab == .conversation ? try await pulls.reviews(pullRequestID: pull.id) : []
        var view = PullView(pull, fullName: fullName, tab: tab, comments: comments, reviews: reviews, visitor: page.visitor.user, permission: page.permission, error: error)
        if tab == .conversation {
            view.reviewers = try await pulls.requestedReviewers(pullRequestID: pull.id).map { .init(name: $0.username, codeOwner: $0.fromCodeOwners) }
            if view.isOpen { view.needs = try await service.branchRules.mergeNeeds(pull, base: page.repository, by: page.visitor.user, adminExempt: page.permission >= .admin).needs }
            view.mergeReady = view.mergeable && view.needs.isEmpty
        }
        if GitInput.isObjectID(pull.headSHA) { view.headStatus = try await statuses.marks(page.repository, shas: [pull.headSHA])[pull.headSHA] }
        let comparable = GitInput.isObjectID(pull.headSHA) && GitInput.isObjectID(pull.baseSHA)
        switch tab {
        case .conversation:
            break
        case .commits:
            if comparable {
                let commits = try await content.compare(page.repository, base: pull.baseSHA, head: pull.headSHA).commits
                let marks = try await statuses.marks(page.repository, shas: commits.map(\.sha))
                view.commits = commits.map { CommitItem($0, repository: page.repository, status: marks[$0.sha]) }
            }
        case .files:
            let lines = try QueryNumber.read(request, "context", in: 0...DiffContext.whole, default: DiffContext.standard)
            guard DiffContext.steps.contains(lines) else { throw GatewayError.invalid("context must be one of \(DiffContext.steps.map(String.init).joined(separator: ", "))") }
            if comparable {
                let title = "\(pull.title) · Pull request #\(pull.number) · \(fullName)"
                // (The number too: the cached diff links to this pull request's raw diff.)
                let key = "pulldiff:\(page.repository.id):\(pull.number):\(pull.baseSHA):\(pull.headSHA):\(lines)"
                let diff = { try await diffHTML(page.repository, pull, context: lines, url: view.url, key: key) }
                if page.acceptsGzip && status == .ok { return try await gzippedFiles(page, view, title: title, key: key, diff: diff) }
                view.diffHTML = try await diff()
            }
        }
        return render(page, "pull", view, title: "\(pull.title) · Pull request #\(pull.number) · \(fullName)", status: status)
    }

    /// The files tab's diffs: two commit ids name a diff that never changes, so it is
    /// rendered once for everyone and kept in the fragment cache.
    private func diffHTML(_ repository: Repository, _ pull: PullRequest, context lines: Int, url: String, key: String) async throws -> String {
        try await cache.fetch(key) {
            let comparison = try await content.compare(repository, base: pull.baseSHA, head: pull.headSHA, context: lines)
            let files = await DiffFilesView.files(comparison.files, countsIncomplete: false, context: lines, highlighting: highlighting)
            let diff = PullDiffView(
                files: files, hiddenFiles: comparison.files.count > files.count ? comparison.files.count - files.count : nil,
                patchesCut: comparison.patchesCut, fileCount: comparison.files.count, patchURL: "\(url).diff")
            return pages.renderer.render("pull_diff", diff)
        }
    }

    /// The files tab gzipped, as the code pages send large pages: the diffs' compressed copy
    /// (made once, kept beside the plain one) between the rest of the page, rendered and
    /// compressed for this visitor on each view (comments, forms: a few kilobytes).
    private func gzippedFiles(_ page: RepositoryPage, _ view: PullView, title: String, key: String, diff: () async throws -> String) async throws -> Response {
        let pieceKey = "deflated:\(key)"
        let piece: DeflatedPiece
        if let kept = await cache.bytes(pieceKey).flatMap(DeflatedPiece.init(stored:)) {
            piece = kept
        } else {
            piece = DeflatedPiece(try await diff())
            await cache.store(pieceKey, bytes: piece.stored, lifetime: cache.lifetime)
        }
        var shell = view
        shell.diffHTML = Self.diffMark
        let body = pages.renderer.render("pull", shell, csrf: page.visitor.csrfToken)
        guard let mark = body.range(of: Self.diffMark) else { throw GatewayError.unavailable("the pull request template lost its diff") }
        let layout = pages.layoutShell(title: title, page.visitor)
        let header = pages.repositoryHeader(page.header("pulls", baseURL: repositoryPages.baseURL), csrf: page.visitor.csrfToken)
        let before = DeflatedPiece(layout.before + header + body[..<mark.lowerBound], level: 1)
        let after = DeflatedPiece(body[mark.upperBound...] + layout.after, level: 1)
        return pages.gzippedResponse(DeflatedPiece.gzip([before, piece, after]), page.visitor)
    }

    /// Where the diffs go in the rendered files tab.
    private static let diffMark = "<!--cairn:pull-diff-->"

    private func render(_ page: RepositoryPage, _ template: String, _ view: Any, title: String, status: HTTPResponse.Status = .ok) -> Response {
        repositoryPages.repositoryPage(
            page, header: page.header("pulls", baseURL: repositoryPages.baseURL), body: pages.renderer.render(template, view, csrf: page.visitor.csrfToken),
            title: title, status: status)
    }
}
