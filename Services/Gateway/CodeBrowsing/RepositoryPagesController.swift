import CairnModel
import AsyncHTTPClient
import CairnProtocol
import CairnService
import Foundation
import NIOHTTP1
import HTTPTypes
import Hummingbird

/// The code browser: a repository's home (files, README, clone URL), trees and files at any
/// ref, raw files, history, commits with their diffs, branches and tags. Private
/// repositories are 404 for anyone who may not read them. The repository home, trees and
/// files are cached as fragments keyed by the repository's cache version.
struct RepositoryPagesController: Sendable {
    let pages: Pages
    let repositoryPages: RepositoryPages
    let content: RepositoryContent
    let social: SocialGraph
    let highlighting: CodeHighlighting
    let service: RepositoryService
    let statuses: CommitStatusService
    /// Where `cairn-sshd` is reached, for the SSH clone URL.
    let ssh: CairnConfiguration.SSHSettings
    var baseURL: String { repositoryPages.baseURL }
    static let commitsPerPage = 30
    static let imageTypes = ["png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "svg": "image/svg+xml", "ico": "image/x-icon"]

    func addRoutes(to routes: RouterGroup<GatewayContext>) {
        let router = repositoryPages.routes(routes, requiring: .read)
        router.post("/:owner/:repo/watch") { request, context in try await set(.watch, true, request, context) }
        router.post("/:owner/:repo/unwatch") { request, context in try await set(.watch, false, request, context) }
        router.post("/:owner/:repo/star") { request, context in try await set(.star, true, request, context) }
        router.post("/:owner/:repo/unstar") { request, context in try await set(.star, false, request, context) }
        router.post("/:owner/:repo/fork") { request, context in try await fork(request, context) }
        router.get("/:owner/:repo") { request, context in
            let page = try await repositoryPages.load(request, context)
            return try await repositoryPages.codePage(page, key: "home:\(page.repository.id):\(page.repository.cacheVersion)", title: page.repository.fullName) {
                try await home(page.repository, cloneURL: page.header("code", baseURL: baseURL).cloneURL)
            }
        }
        router.get("/:owner/:repo/tree/**") { request, context in
            let page = try await repositoryPages.load(request, context)
            // Keyed by the path as asked: the ref is resolved only when rendering.
            let key = "tree:\(page.repository.id):\(page.repository.cacheVersion):\(RepositoryPages.catchAll(context))"
            return try await repositoryPages.codePage(page, key: key, title: "\(page.repository.fullName)/\(RepositoryPages.catchAll(context))") {
                let (refs, target) = try await resolve(page.repository, context)
                async let entries = content.tree(page.repository, ref: target.ref, path: target.path)
                async let changed = lastCommits(page.repository, ref: target.ref, path: target.path)
                let last = try await content.commits(page.repository, ref: target.ref, path: target.path, limit: 1, skip: 0).first
                let view = TreeView(
                    ref: target.ref, crumbs: Crumb.trail(page.repository, ref: target.ref, path: target.path),
                    entries: TreeItem.list(try await entries, repository: page.repository, ref: target.ref, path: target.path, lastCommits: await changed),
                    lastCommit: last.map { CommitItem($0, repository: page.repository) },
                    branches: refItems(refs.branches, page.repository, selected: target.ref))
                return pages.renderer.render("tree", view)
            }
        }
        router.get("/:owner/:repo/blob/**") { request, context in
            let page = try await repositoryPages.load(request, context)
            let plain = request.uri.queryParameters["plain"] == "1"
            let key = "blob:\(page.repository.id):\(page.repository.cacheVersion):\(plain ? 1 : 0):\(RepositoryPages.catchAll(context))"
            return try await repositoryPages.codePage(page, key: key, title: "\(page.repository.fullName)/\(RepositoryPages.catchAll(context))", large: true) {
                let (_, target) = try await resolve(page.repository, context)
                guard !target.path.isEmpty else { throw GatewayError.notFound }
                return try await blob(page.repository, target, plain: plain)
            }
        }
        router.get("/:owner/:repo/blame/**") { request, context in try await blamePage(request, context) }
        router.get("/:owner/:repo/raw/**") { request, context in
            let page = try await repositoryPages.load(request, context)
            // Which file the ref and path name, kept until the next push: `<blob id> <size> <path>`.
            let key = "raw:\(page.repository.id):\(page.repository.cacheVersion):\(RepositoryPages.catchAll(context))"
            let named = try await repositoryPages.cache.fetch(key) {
                let (_, target) = try await resolve(page.repository, context)
                let info = try await content.object(page.repository, ref: target.ref, path: target.path)
                guard info.type == "blob" else { throw GatewayError.notFound }
                return "\(info.sha) \(info.size) \(target.path)"
            }.split(separator: " ", maxSplits: 2).map(String.init)
            guard named.count == 3, let size = Int(named[1]) else { throw GatewayError.notFound }
            return try await raw(page.repository, sha: named[0], size: size, path: named[2])
        }
        router.get("/:owner/:repo/commits") { request, context in
            try await commits(request, context, target: nil)
        }
        router.get("/:owner/:repo/commits/**") { request, context in
            try await commits(request, context, target: RepositoryPages.catchAll(context))
        }
        router.get("/:owner/:repo/commit/:sha") { request, context in
            let page = try await repositoryPages.load(request, context)
            var sha = try context.parameters.require("sha")
            let isPatch = sha.hasSuffix(".patch")
            if isPatch { sha = String(sha.dropLast(6)) }
            guard (4...40).contains(sha.count), sha.allSatisfy(\.isHexDigit) else { throw GatewayError.notFound }
            if isPatch { return patch(try await content.commit(page.repository, ref: sha)) }
            let lines = try QueryNumber.read(request, "context", in: 0...DiffContext.whole, default: DiffContext.standard)
            guard DiffContext.steps.contains(lines) else {
                throw GatewayError.invalid("context must be one of \(DiffContext.steps.map(String.init).joined(separator: ", "))")
            }
            // A full commit id names content that never changes: its page is kept across pushes.
            // Its statuses can change at any time: their version keys it too.
            let named = sha.count == 40 ? sha.lowercased() : "\(page.repository.cacheVersion):\(sha.lowercased())"
            let key = "commit:\(page.repository.id):\(named):\(lines):s\(page.repository.statusVersion)"
            return try await repositoryPages.cachedPage(page, tab: "commits", key: key, large: true) {
                let detail = try await content.commit(page.repository, ref: sha, context: lines)
                var view = await commitView(detail, page.repository, context: lines)
                view.status = try await statuses.marks(page.repository, shas: [detail.commit.sha])[detail.commit.sha]
                return PageFragment(title: "\(view.summary) · \(page.repository.fullName)", body: pages.renderer.render("commit", view))
            }
        }
        router.get("/:owner/:repo/branches") { request, context in
            let page = try await repositoryPages.load(request, context)
            let key = "branches:\(page.repository.id):\(page.repository.cacheVersion):s\(page.repository.statusVersion)"
            return try await repositoryPages.cachedPage(page, tab: "branches", key: key) {
                let refs = try await content.refs(page.repository)
                var items = refItems(refs.branches, page.repository, selected: page.repository.defaultBranch ?? "")
                let marks = try await statuses.marks(page.repository, shas: refs.branches.map(\.commit))
                for index in items.indices { items[index].status = marks[items[index].sha] }
                let view = RefsView(isBranches: true, refs: items, defaultBranch: page.repository.defaultBranch)
                return PageFragment(title: "Branches · \(page.repository.fullName)", body: pages.renderer.render("refs", view))
            }
        }
        router.get("/:owner/:repo/tags") { request, context in
            let page = try await repositoryPages.load(request, context)
            return try await repositoryPages.cachedPage(page, tab: "tags", key: "tags:\(page.repository.id):\(page.repository.cacheVersion)") {
                let tags = try await content.refs(page.repository).tags.sorted { $0.name > $1.name }
                let view = RefsView(isBranches: false, refs: refItems(tags, page.repository, selected: "", sorted: false), defaultBranch: nil)
                return PageFragment(title: "Tags · \(page.repository.fullName)", body: pages.renderer.render("refs", view))
            }
        }
    }

    /// The newest commit of each entry of a directory; none when the repository store could
    /// not say (the list is a nicety: the page shows without it).
    private func lastCommits(_ repository: Repository, ref: String, path: String) async -> [String: GitLastCommit] {
        (try? await content.lastCommits(repository, ref: ref, path: path)) ?? [:]
    }

    /// The ref and path the catch-all names, checked; 404 when no ref matches.
    func resolve(_ repository: Repository, _ context: GatewayContext) async throws -> (GitRefs, RefAndPath) {
        let segments = context.parameters.getCatchAll().map(String.init)
        let refs = try await content.refs(repository)
        guard let target = RefAndPath.resolve(segments, refs: refs) else { throw GatewayError.notFound }
        if let problem = GitInput.revisionProblem(target.ref) ?? (target.path.isEmpty ? nil : GitInput.pathProblem(target.path)) {
            throw GatewayError.invalid(problem)
        }
        return (refs, target)
    }

    private func home(_ repository: Repository, cloneURL: String) async throws -> String {
        let refs = try await content.refs(repository)
        let branch = repository.defaultBranch.flatMap { name in refs.branches.first { $0.name == name } }
            ?? refs.head.flatMap { name in refs.branches.first { $0.name == name } } ?? refs.branches.first
        guard let branch else {
            let view = RepositoryHomeView(empty: true, cloneURL: cloneURL, sshCloneURL: ssh.cloneURL(owner: repository.ownerName, name: repository.name), defaultBranch: "main", branches: [], tags: [], entries: [], lastCommit: nil, readme: nil, readmeName: nil, commitCount: "", size: "", commitsURL: "", archive: "")
            return pages.renderer.render("repository_home", view)
        }
        async let entries = content.tree(repository, ref: branch.name, path: "")
        async let last = content.commits(repository, ref: branch.name, path: "", limit: 1, skip: 0)
        async let stats = content.stats(repository, ref: branch.name)
        async let changed = lastCommits(repository, ref: branch.name, path: "")
        let listed = try await entries
        var readme: String?
        let readmeEntry = RepositoryContent.readme(in: listed)
        if let readmeEntry, (readmeEntry.size ?? 0) <= RepositoryContent.maxInlineBytes, let bytes = try await content.blob(repository, sha: readmeEntry.sha) {
            let text = String(decoding: bytes, as: UTF8.self)
            let lower = readmeEntry.path.lowercased()
            readme = lower.hasSuffix(".md") || lower.hasSuffix(".markdown") ? MarkdownRenderer.html(text) : "<pre>\(HTMLEscaper.escape(text))</pre>"
        }
        let counted = try await stats
        let view = RepositoryHomeView(
            empty: false, cloneURL: cloneURL, sshCloneURL: ssh.cloneURL(owner: repository.ownerName, name: repository.name), defaultBranch: branch.name,
            branches: refItems(refs.branches, repository, selected: branch.name),
            tags: refItems(refs.tags, repository, selected: ""),
            entries: TreeItem.list(listed, repository: repository, ref: branch.name, path: "", lastCommits: await changed),
            lastCommit: try await last.first.map { CommitItem($0, repository: repository) },
            readme: readme, readmeName: readmeEntry?.path,
            commitCount: PageFormat.plural(counted.commits, "commit"), size: PageFormat.size(counted.sizeBytes),
            commitsURL: "/\(repository.fullName)/commits/\(PageFormat.pathLink(branch.name))",
            archive: "/\(repository.fullName)/archive/\(PageFormat.pathLink(branch.name))")
        return pages.renderer.render("repository_home", view)
    }

    /// A file page: Markdown rendered (unless `plain`), text with line anchors, images shown,
    /// binary and very large files named as such.
    private func blob(_ repository: Repository, _ target: RefAndPath, plain: Bool) async throws -> String {
        let info = try await content.object(repository, ref: target.ref, path: target.path)
        guard info.type == "blob" else { throw GatewayError.notFound }
        let ref = PageFormat.pathLink(target.ref)
        let path = PageFormat.pathLink(target.path)
        let fileExtension = target.path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        let isMarkdown = fileExtension == "md" || fileExtension == "markdown"
        let isImage = Self.imageTypes[fileExtension] != nil
        var lines: [BlobView.Line] = []
        var isBinary = false
        var markdown: String?
        let tooLarge = info.size > RepositoryContent.maxInlineBytes
        if !tooLarge && !isImage, let bytes = try await content.blob(repository, sha: info.sha) {
            if bytes.prefix(8000).contains(0) || String(validating: bytes, as: UTF8.self) == nil {
                isBinary = true
            } else {
                let text = String(decoding: bytes, as: UTF8.self)
                var split = text.split(separator: "\n", omittingEmptySubsequences: false)
                if text.hasSuffix("\n") { split.removeLast() }
                if !plain, isMarkdown { markdown = MarkdownRenderer.html(text) }
                let html = markdown != nil ? nil : await highlighting.file(sha: info.sha, path: target.path, text: text).flatMap { $0.count == split.count ? $0 : nil }
                lines = split.enumerated().map { BlobView.Line(number: $0.offset + 1, text: String($0.element), html: html?[$0.offset]) }
            }
        }
        let view = BlobView(
            ref: target.ref, crumbs: Crumb.trail(repository, ref: target.ref, path: target.path), size: PageFormat.size(info.size),
            rawURL: "/\(repository.fullName)/raw/\(ref)/\(path)", sourceURL: "/\(repository.fullName)/blob/\(ref)/\(path)?plain=1",
            isMarkdownSource: plain && isMarkdown,
            previewURL: "/\(repository.fullName)/blob/\(ref)/\(path)", historyURL: "/\(repository.fullName)/commits/\(ref)/\(path)",
            blameURL: "/\(repository.fullName)/blame/\(ref)/\(path)", lines: lines, isBinary: isBinary, isTooLarge: tooLarge && !isImage, isImage: isImage, markdown: markdown)
        return pages.renderer.render("blob", view)
    }

    /// The file's bytes, as text or its image type; never as HTML, and sandboxed so a file in
    /// a repository cannot run script on Cairn's origin. A file of up to `rawKeptBytes` is
    /// kept in the fragment cache by its blob id (its content never changes) for an hour;
    /// a larger one is streamed from the repository store each time.
    private func raw(_ repository: Repository, sha: String, size: Int, path: String) async throws -> Response {
        let fileExtension = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        var headers: HTTPFields = [
            .contentType: Self.imageTypes[fileExtension] ?? "text/plain; charset=utf-8",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            .cacheControl: "private, max-age=60",
        ]
        let key = "blob:\(repository.id):\(sha)"
        if let kept = await repositoryPages.cache.bytes(key) {
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: kept)))
        }
        let upstream = try await content.repostore.send(.GET, "/repos/\(repository.id)/blob/\(sha)", timeout: .minutes(10))
        guard upstream.status == .ok else { throw GatewayError.notFound }
        if size <= Self.rawKeptBytes {
            let body = try await upstream.body.collect(upTo: Self.rawKeptBytes)
            guard body.readableBytes == size else { throw GatewayError.unavailable("The repository store sent \(body.readableBytes) of the file's \(size) bytes.") }
            let bytes = Array(body.readableBytesView)
            await repositoryPages.cache.store(key, bytes: bytes, lifetime: 3600)
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
        }
        headers[.contentLength] = String(size)
        return Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: upstream.body))
    }

    /// The largest file kept in the cache for raw views.
    static let rawKeptBytes = 1 << 20

    /// The history page: of the default branch (`target` nil), or of the ref and path the
    /// catch-all `target` names, 30 commits a page. Cached per ref, path and page number until
    /// the next push.
    private func commits(_ request: Request, _ context: GatewayContext, target: String?) async throws -> Response {
        let page = try await repositoryPages.load(request, context)
        let repository = page.repository
        let number = try QueryNumber.read(request, "page", in: 1...Pagination.maxPage, default: 1)
        let key = "commits:\(repository.id):\(repository.cacheVersion):s\(repository.statusVersion):\(number):\(target ?? "")"
        return try await repositoryPages.cachedPage(page, tab: "commits", key: key) {
            let resolved = target == nil ? nil : try await resolve(repository, context).1
            let ref = resolved?.ref ?? repository.defaultBranch ?? "HEAD"
            let path = resolved?.path ?? ""
            let found = try await content.commits(repository, ref: ref, path: path, limit: Self.commitsPerPage + 1, skip: (number - 1) * Self.commitsPerPage)
            let base = "/\(repository.fullName)/commits/\(PageFormat.pathLink(ref))" + (path.isEmpty ? "" : "/\(PageFormat.pathLink(path))")
            let shown = found.prefix(Self.commitsPerPage)
            let marks = try await statuses.marks(repository, shas: shown.map(\.sha))
            let view = CommitsView(
                ref: ref, path: path, commits: shown.map { CommitItem($0, repository: repository, status: marks[$0.sha]) },
                previous: number > 1 ? "\(base)?page=\(number - 1)" : nil,
                next: found.count > Self.commitsPerPage ? "\(base)?page=\(number + 1)" : nil)
            return PageFragment(title: "Commits · \(repository.fullName)", body: pages.renderer.render("commits", view))
        }
    }

    /// A commit's page: its message and each file's diff (at most `maxDiffLines` lines in
    /// all), with line numbers, highlighted, each hunk offering more context.
    private func commitView(_ detail: GitCommitDetail, _ repository: Repository, context: Int) async -> CommitView {
        let files = await DiffFilesView.files(detail.files, countsIncomplete: detail.countsIncomplete == true, context: context, highlighting: highlighting)
        let message = detail.commit.message
        let summary = PageFormat.summary(message)
        let body = message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: true).dropFirst().first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        return CommitView(
            sha: detail.commit.sha, summary: summary, body: body, author: detail.commit.author.name, authorEmail: detail.commit.author.email,
            date: PageFormat.age(git: detail.commit.author.date),
            parents: detail.commit.parents.map { .init(shortSHA: String($0.prefix(7)), url: "/\(repository.fullName)/commit/\($0)") },
            files: files, fileCount: detail.files.count, hiddenFiles: detail.files.count > files.count ? detail.files.count - files.count : nil, patchesCut: detail.patchesCut == true, countsIncomplete: detail.countsIncomplete == true,
            additions: detail.files.reduce(0) { $0 + $1.additions }, deletions: detail.files.reduce(0) { $0 + $1.deletions },
            patchURL: "/\(repository.fullName)/commit/\(detail.commit.sha).patch", treeURL: "/\(repository.fullName)/tree/\(detail.commit.sha)")
    }

    /// The commit as a plain-text patch (its message and each file's diff).
    private func patch(_ detail: GitCommitDetail) -> Response {
        let commit = detail.commit
        var text = "From \(commit.sha)\nFrom: \(commit.author.name) <\(commit.author.email)>\nDate: \(commit.author.date)\nSubject: \(commit.message)\n---\n"
        for file in detail.files {
            text += file.patch ?? "diff --git a/\(file.path) b/\(file.path)\n(diff too large to show)\n"
            if !text.hasSuffix("\n") { text += "\n" }
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
            body: .init(byteBuffer: .init(string: text)))
    }

    private func refItems(_ refs: [GitRef], _ repository: Repository, selected: String, sorted: Bool = true) -> [RefItem] {
        let ordered = sorted ? refs.sorted { $0.name < $1.name } : refs
        return ordered.map { ref in
            RefItem(
                name: ref.name, url: "/\(repository.fullName)/tree/\(PageFormat.pathLink(ref.name))", sha: ref.commit, shortSHA: String(ref.commit.prefix(7)),
                selected: ref.name == selected, archive: "/\(repository.fullName)/archive/\(PageFormat.pathLink(ref.name))")
        }
    }
}

extension RepositoryPagesController {
    /// Forks the repository into the visitor's account (signed-in readers) and shows the fork;
    /// a name the visitor already uses is refused with the reason.
    func fork(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let page = try await repositoryPages.load(request, context)
        guard let user = page.visitor.user else { throw GatewayError.authenticationRequired }
        _ = try await pages.form(request, page.visitor)
        do {
            let fork = try await service.fork(page.repository, owner: user, name: nil)
            return pages.redirect("/\(fork.fullName)")
        } catch let error as ModelError {
            throw GatewayError(error)
        }
    }

    /// Star or watch the repository, or stop (signed-in readers): watchers get mail about pushes.
    func set(_ relation: SocialRelation, _ on: Bool, _ request: Request, _ context: GatewayContext) async throws -> Response {
        let page = try await repositoryPages.load(request, context)
        guard let user = page.visitor.user else { throw GatewayError.authenticationRequired }
        _ = try await pages.form(request, page.visitor)
        if on {
            try await social.add(relation, subject: user.id, object: page.repository.id)
        } else {
            try await social.remove(relation, subject: user.id, object: page.repository.id)
        }
        return pages.redirect("/\(page.repository.fullName)")
    }
}
