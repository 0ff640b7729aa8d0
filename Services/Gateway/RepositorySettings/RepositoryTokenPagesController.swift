import CairnModel
import Foundation
import HTTPTypes
import Hummingbird

/// A repository's tokens for machines in its settings, for admins: the live tokens with
/// their last use, a form to make one (its secret shown once, on the answer), and revocation.
struct RepositoryTokenPagesController: Sendable {
    let pages: Pages
    let repositoryPages: RepositoryPages
    let tokens: RepositoryTokenStore
    let users: UserStore

    func addRoutes(to routes: RouterGroup<GatewayContext>) {
        let router = repositoryPages.routes(routes, requiring: .admin, refusal: "Only the repository's admins can change its settings.")
        router.get("/:owner/:repo/settings/tokens") { request, context in
            try await list(try await repositoryPages.load(request, context))
        }
        router.post("/:owner/:repo/settings/tokens") { request, context in
            let page = try await repositoryPages.load(request, context)
            let form = try await pages.form(request, page.visitor)
            guard let permission = ["read": Permission.read, "write": .write][form.text("permission")] else {
                return try await list(page, error: "permission: must be read or write", status: .unprocessableContent)
            }
            do {
                let (secret, _) = try await tokens.create(repositoryID: page.repository.id, name: form.text("name"), permission: permission, createdBy: page.visitor.user!.id)
                // Shown on this answer only: never stored, never put in a URL.
                var response = try await list(page, newSecret: secret, status: .created)
                response.headers[.cacheControl] = "no-store"
                return response
            } catch let error as ModelError {
                return try await list(page, error: error.description, status: .unprocessableContent)
            }
        }
        router.post("/:owner/:repo/settings/tokens/:token/revoke") { request, context in
            let page = try await repositoryPages.load(request, context)
            _ = try await pages.form(request, page.visitor)
            guard let id = Int64(try context.parameters.require("token")), try await tokens.revoke(id: id, repositoryID: page.repository.id) else {
                throw GatewayError.notFound
            }
            return pages.redirect("/\(page.repository.fullName)/settings/tokens")
        }
    }

    private func list(_ page: RepositoryPage, newSecret: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let live = try await tokens.list(repositoryID: page.repository.id)
        let makers = Dictionary(uniqueKeysWithValues: try await users.find(ids: Array(Set(live.map(\.createdBy)))).map { ($0.id, $0.username) })
        let view = RepositoryTokensView(
            fullName: page.repository.fullName,
            tokens: live.map {
                TokenRow(id: $0.id, name: $0.name, permission: $0.permission == .write ? "write" : "read", maker: makers[$0.createdBy] ?? "someone",
                         created: PageFormat.age($0.createdAt), lastUsed: $0.lastUsedAt.map { "last used \(PageFormat.age($0))" } ?? "never used")
            },
            newSecret: newSecret, error: error)
        return repositoryPages.repositoryPage(
            page, header: page.header("settings", baseURL: repositoryPages.baseURL),
            body: pages.renderer.render("repository_tokens", view, csrf: page.visitor.csrfToken), title: "Tokens · \(page.repository.fullName)", status: status)
    }
}

struct RepositoryTokensView {
    let fullName: String
    let tokens: [TokenRow]
    let newSecret: String?
    let error: String?
}

struct TokenRow {
    let id: Int64
    let name: String
    let permission: String
    let maker: String
    let created: String
    let lastUsed: String
}
