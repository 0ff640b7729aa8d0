import CairnModel
import CairnProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// What every page of one repository (`/{owner}/{repo}/…`) starts and ends with, for every
/// feature that has such pages: routes that declare the permission they need (`routes`), the
/// repository with its social figures (`load`), and the page in the repository header
/// (`repositoryPage`, `codePage`), which is also the one place a `repo.view` event is sent from.
struct RepositoryPages: Sendable {
    let pages: Pages
    let access: RepositoryAccess
    let cache: FragmentCache
    let social: SocialGraph
    let users: UserStore
    let traffic: TrafficEvents
    let baseURL: String

    /// The page's common part: the visitor and the repository the route resolved (see
    /// `RouterGroup.repository(_:_:refusal:)`), with its social figures.
    func load(_ request: Request, _ context: GatewayContext) async throws -> RepositoryPage {
        let visitor = try context.pageVisitor()
        let resolved = try context.resolvedRepository()
        let figures = try await social.summary(repository: resolved.repository.id, visitor: visitor.user?.id)
        let followed = figures.followedStargazers.isEmpty ? [] : try await users.find(ids: figures.followedStargazers).map(\.username)
        return RepositoryPage(
            visitor: visitor, repository: resolved.repository, permission: resolved.permission, social: figures, followedStargazers: followed,
            visitorID: traffic.visitorID(request, context, user: visitor.user?.id), path: request.uri.path,
            acceptEncoding: request.headers[.acceptEncoding],
            parentShown: try await shownParent(of: resolved.repository, to: visitor.user))
    }

    /// A fork's parent as the visitor may know it: a public one by name, a private one only
    /// to those who may read it (one more query, for forks of private repositories only).
    private func shownParent(of repository: Repository, to user: User?) async throws -> String? {
        guard let name = repository.parentFullName, let parentID = repository.parentID else { return nil }
        guard repository.parentIsPrivate else { return name }
        guard let parent = try await access.repositories.find(id: parentID) else { return nil }
        return try await access.repositories.permission(of: user, on: parent) >= .read ? name : nil
    }

    /// The page routes of one repository (`/:owner/:repo…`) that need `permission` on it.
    func routes(_ router: RouterGroup<GatewayContext>, requiring permission: Permission = .read, refusal: String? = nil) -> RouterGroup<GatewayContext> {
        router.repository(permission, access, refusal: refusal, ignoresGitSuffix: true)
    }

    /// The repository header (tab `header` selected) above `body`, in the site layout. A
    /// page of the repository's content that is shown counts as a view of it.
    func repositoryPage(_ page: RepositoryPage, header: RepositoryHeaderView, body: String, title: String, status: HTTPResponse.Status = .ok) -> Response {
        if status == .ok && header.isBrowsing {
            countView(page, title: title, actor: page.visitor.user?.id)
        }
        return pages.html(pages.repositoryHeader(header, csrf: page.visitor.csrfToken) + body, title: title, page.visitor, status: status)
    }

    /// A page of the Code tab: its content is the fragment under `key` (`render` makes it);
    /// `large` as for `cachedPage`.
    func codePage(_ page: RepositoryPage, key: String, title: String, large: Bool = false, render: () async throws -> String) async throws -> Response {
        try await cachedPage(page, tab: "code", key: key, large: large) { PageFragment(title: title, body: try await render()) }
    }

    /// A page of tab `tab` whose content and title are the fragment under `key` (`render`
    /// makes them), so a view costs a Redis read instead of git and rendering. What an
    /// anonymous visitor sees is the same for all of them, so their whole page is cached as
    /// well, keyed by the fragment's key and the rest of what it shows (the star count); not
    /// while a site notice shows. A `large` page (a file, its blame, a diff: up to megabytes
    /// of HTML) goes gzipped to browsers that take it, from a compressed copy kept beside the
    /// plain one (see `DeflatedPiece`): moving its bytes cost more than everything else.
    /// (Keys start `titled:`: fragments cached before titles were kept with them are never
    /// read as such.)
    func cachedPage(_ page: RepositoryPage, tab: String, key: String, large: Bool = false, render: () async throws -> PageFragment) async throws -> Response {
        let header = page.header(tab, baseURL: baseURL)
        func fragment() async throws -> PageFragment {
            PageFragment(decoding: try await cache.fetch("titled:\(key)") { try await render().encoded })
        }
        let gzipped = large && page.acceptsGzip
        guard page.visitor.user == nil, page.visitor.newCookie == nil, pages.readOnly.lastKnownMessage == nil else {
            if gzipped { return try await gzippedPage(page, header: header, key: key, fragment: fragment) }
            let content = try await fragment()
            return repositoryPage(page, header: header, body: content.body, title: content.title)
        }
        func whole() async throws -> PageFragment {
            PageFragment(decoding: try await cache.fetch("page:titled:\(key):\(page.social.stars)") {
                let content = try await fragment()
                let html = pages.layout(pages.repositoryHeader(header, csrf: page.visitor.csrfToken) + content.body, title: content.title, page.visitor)
                return PageFragment(title: content.title, body: html).encoded
            })
        }
        if gzipped {
            let gzipKey = "gzip:page:titled:\(key):\(page.social.stars)"
            let kept: TitledBytes
            if let hit = await cache.bytes(gzipKey).flatMap(TitledBytes.init(stored:)) {
                kept = hit
            } else {
                // Made from the fragment, not the plain whole page: a gzip-taking browser never
                // reads that, so it is not stored on its behalf.
                let content = try await fragment()
                let html = pages.layout(pages.repositoryHeader(header, csrf: page.visitor.csrfToken) + content.body, title: content.title, page.visitor)
                kept = TitledBytes(title: content.title, bytes: Array(DeflatedPiece.gzip([DeflatedPiece(html)]).readableBytesView))
                await cache.store(gzipKey, bytes: kept.stored, lifetime: cache.lifetime)
            }
            if header.isBrowsing { countView(page, title: kept.title, actor: nil) }
            return pages.gzippedResponse(ByteBuffer(bytes: kept.bytes), page.visitor)
        }
        let shown = try await whole()
        if header.isBrowsing { countView(page, title: shown.title, actor: nil) }
        return pages.response(shown.body, page.visitor)
    }

    /// A large page for a signed-in visitor, gzipped: the content's compressed copy (made
    /// once, kept like the fragment) between the layout and header rendered for this
    /// visitor, compressed on each view (a few kilobytes).
    private func gzippedPage(_ page: RepositoryPage, header: RepositoryHeaderView, key: String, fragment: () async throws -> PageFragment) async throws -> Response {
        let pieceKey = "deflated:titled:\(key)"
        let content: (title: String, piece: DeflatedPiece)
        if let kept = await cache.bytes(pieceKey).flatMap(TitledBytes.init(stored:)), let piece = DeflatedPiece(stored: kept.bytes) {
            content = (kept.title, piece)
        } else {
            let plain = try await fragment()
            content = (plain.title, DeflatedPiece(plain.body))
            await cache.store(pieceKey, bytes: TitledBytes(title: plain.title, bytes: content.piece.stored).stored, lifetime: cache.lifetime)
        }
        if header.isBrowsing { countView(page, title: content.title, actor: page.visitor.user?.id) }
        let layout = pages.layoutShell(title: content.title, page.visitor)
        let before = DeflatedPiece(layout.before + pages.repositoryHeader(header, csrf: page.visitor.csrfToken), level: 1)
        return pages.gzippedResponse(DeflatedPiece.gzip([before, content.piece, DeflatedPiece(layout.after, level: 1)]), page.visitor)
    }

    /// A view of the repository's content, for its traffic figures.
    private func countView(_ page: RepositoryPage, title: String, actor: Int64?) {
        traffic.view(repository: page.repository.id, visitor: page.visitorID, actor: actor, path: page.path, title: title)
    }

    /// The path captured by a route's trailing `**`.
    static func catchAll(_ context: GatewayContext) -> String {
        context.parameters.getCatchAll().joined(separator: "/")
    }
}

/// A title and bytes kept as one value: the title (on one line), a newline, the bytes.
struct TitledBytes {
    let title: String
    let bytes: [UInt8]

    init(title: String, bytes: [UInt8]) {
        self.title = String(decoding: title.utf8.map { $0 == 10 ? 32 : $0 }, as: UTF8.self)  // by byte: "\r\n" is one Character
        self.bytes = bytes
    }

    init?(stored: [UInt8]) {
        guard let newline = stored.firstIndex(of: 10) else { return nil }
        title = String(decoding: stored[..<newline], as: UTF8.self)
        bytes = Array(stored[(newline + 1)...])
    }

    var stored: [UInt8] { Array(title.utf8) + [10] + bytes }
}

/// A cached page's title and HTML, kept as one string: the title (on one line), a newline,
/// the HTML.
struct PageFragment {
    let title: String
    let body: String

    init(title: String, body: String) {
        self.title = title
        self.body = body
    }

    init(decoding text: String) {
        let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        title = parts.first.map(String.init) ?? ""
        body = parts.count > 1 ? String(parts[1]) : ""
    }

    var encoded: String { title.replacingOccurrences(of: "\n", with: " ") + "\n" + body }
}
