import CairnService
import CairnModel
import CairnProtocol
import Foundation
import Hummingbird

/// The home page, Explore, user profiles and the new-repository form.
struct HomePagesController: Sendable {
    let pages: Pages
    let users: UserStore
    let repositories: RepositoryStore
    let service: RepositoryService
    let social: SocialGraph
    let cache: FragmentCache
    static let perPage = 30

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/") { request, context in
            let visitor = try context.pageVisitor()
            if let user = visitor.user {
                let mine = try await repositories.list(member: user, limit: 100, offset: 0)
                return pages.page("home", title: "Cairn", visitor, HomeView(signedIn: true, repositories: mine.map(RepositoryItem.init)))
            }
            let recent = try await repositories.listPublic(order: .newest, limit: 10, offset: 0)
            return pages.page("home", title: "Cairn", visitor, HomeView(signedIn: false, repositories: recent.map(RepositoryItem.init)))
        }
        router.get("/explore") { request, context in
            let visitor = try context.pageVisitor()
            let query = request.uri.queryParameters
            let order = query["sort"].flatMap { RepositoryStore.PublicOrder(rawValue: String($0)) } ?? .newest
            let page = try QueryNumber.read(request, "page", in: 1...Pagination.maxPage, default: 1)
            let found = try await repositories.listPublic(order: order, limit: Self.perPage + 1, offset: (page - 1) * Self.perPage)
            let view = ExploreView(
                newest: order == .newest, repositories: found.prefix(Self.perPage).map(RepositoryItem.init),
                previous: page > 1 ? "/explore?sort=\(order.rawValue)&page=\(page - 1)" : nil,
                next: found.count > Self.perPage ? "/explore?sort=\(order.rawValue)&page=\(page + 1)" : nil)
            return pages.page("explore", title: "Explore", visitor, view)
        }
        router.get("/new") { request, context in
            let visitor = try context.pageVisitor()
            guard visitor.user != nil else { throw GatewayError.authenticationRequired }
            return pages.page("new_repository", title: "New repository", visitor, NewRepositoryView())
        }
        router.post("/new") { request, context in
            let visitor = try context.pageVisitor()
            guard let user = visitor.user else { throw GatewayError.authenticationRequired }
            let form = try await pages.form(request, visitor)
            var view = NewRepositoryView(name: form.text("name"), description: form.text("description"), isPrivate: form["visibility"] == "private", readme: form.isChecked("readme"))
            let initial = view.readme
                ? InitialCommit.readme(name: view.name, description: view.description, author: user)
                : nil
            do {
                let repository = try await service.create(owner: user, name: view.name, description: view.description, isPrivate: view.isPrivate, initial: initial)
                return pages.redirect("/\(repository.fullName)")
            } catch let error as ModelError {
                view.error = AccountPagesController.message(error)
                return pages.page("new_repository", title: "New repository", visitor, view, status: .unprocessableContent)
            }
        }
        router.get("/:owner") { request, context in
            let visitor = try context.pageVisitor()
            guard let owner = try await users.find(username: context.parameters.require("owner")) else { throw GatewayError.notFound }
            let list = try await repositoryList(of: owner, for: visitor)
            let figures = try await social.profile(user: owner.id, visitor: visitor.user?.id)
            let view = ProfileView(
                username: owner.username, joined: PageFormat.date(owner.createdAt), repositoryList: list,
                followers: figures.followers, following: figures.following,
                canFollow: visitor.user.map { $0.id != owner.id } ?? false, isFollowing: figures.isFollowing)
            return pages.page("profile", title: owner.username, visitor, view)
        }
        router.post("/:owner/follow") { request, context in try await setFollowing(true, request, context) }
        router.post("/:owner/unfollow") { request, context in try await setFollowing(false, request, context) }
    }

    /// The profile's list of `owner`'s repositories that `visitor` may see. The list every
    /// anonymous visitor sees is cached by the owner's cache version, for a few minutes since
    /// it shows ages.
    private func repositoryList(of owner: User, for visitor: Visitor) async throws -> String {
        func render() async throws -> String {
            let shown = try await repositories.list(ownerID: owner.id, viewer: visitor.user, limit: 200, offset: 0)
            return pages.renderer.render("profile_repositories", RepositoryListView(repositories: shown.map(RepositoryItem.init)))
        }
        guard visitor.user == nil else { return try await render() }
        return try await cache.fetch("profile:\(owner.id):\(owner.cacheVersion)", lifetime: 300, render: render)
    }

    /// Follow or unfollow a user (signed-in visitors, not themselves).
    private func setFollowing(_ on: Bool, _ request: Request, _ context: GatewayContext) async throws -> Response {
        let visitor = try context.pageVisitor()
        guard let user = visitor.user else { throw GatewayError.authenticationRequired }
        _ = try await pages.form(request, visitor)
        guard let other = try await users.find(username: context.parameters.require("owner")) else { throw GatewayError.notFound }
        guard other.id != user.id else { throw GatewayError.invalid("You cannot follow yourself.") }
        if on {
            try await social.add(.follow, subject: user.id, object: other.id)
        } else {
            try await social.remove(.follow, subject: user.id, object: other.id)
        }
        return pages.redirect("/\(other.username)")
    }
}

/// One repository in a list.
struct RepositoryItem {
    let fullName: String
    let owner: String
    let name: String
    let description: String
    let isPrivate: Bool
    let updated: String

    init(_ repository: Repository) {
        fullName = repository.fullName
        owner = repository.ownerName
        name = repository.name
        description = repository.description
        isPrivate = repository.isPrivate
        updated = repository.pushedAt.map { "Pushed \(PageFormat.age($0))" } ?? "Created \(PageFormat.age(repository.createdAt))"
    }
}

struct HomeView {
    let signedIn: Bool
    let repositories: [RepositoryItem]
}

struct ExploreView {
    let newest: Bool
    let repositories: [RepositoryItem]
    let previous: String?
    let next: String?
}

struct RepositoryListView {
    let repositories: [RepositoryItem]
}

struct ProfileView {
    let username: String
    let joined: String
    /// Rendered HTML (`profile_repositories`).
    let repositoryList: String
    let followers: Int
    let following: Int
    let canFollow: Bool
    let isFollowing: Bool
}

struct NewRepositoryView {
    var name = ""
    var description = ""
    var isPrivate = false
    var readme = true
    var error: String?
}
