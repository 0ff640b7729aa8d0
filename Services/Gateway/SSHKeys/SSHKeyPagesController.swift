import CairnModel
import Foundation
import HTTPTypes
import Hummingbird

/// SSH keys on pages: a person's under `/settings/keys`, and a repository's deploy keys under
/// its settings (admins). Each shows the keys with their SHA-256 fingerprints and last use, a
/// form to add one (refused with the reason when the key is not one Cairn takes), and
/// deletion. Every form carries the CSRF token.
struct SSHKeyPagesController: Sendable {
    let pages: Pages
    let repositoryPages: RepositoryPages
    let keys: SSHKeyStore

    func addRoutes(to routes: RouterGroup<GatewayContext>) {
        routes.get("/settings/keys") { _, context in
            let visitor = try context.pageVisitor()
            guard let user = visitor.user else { throw GatewayError.authenticationRequired }
            return try await accountPage(visitor, user)
        }
        routes.post("/settings/keys") { request, context in
            let visitor = try context.pageVisitor()
            guard let user = visitor.user else { throw GatewayError.authenticationRequired }
            let form = try await pages.form(request, visitor)
            if let problem = try await add(form, to: .user(user.id), by: user) { return try await accountPage(visitor, user, error: problem, status: .unprocessableContent) }
            return pages.redirect("/settings/keys")
        }
        routes.post("/settings/keys/:id/delete") { request, context in
            let visitor = try context.pageVisitor()
            guard let user = visitor.user else { throw GatewayError.authenticationRequired }
            _ = try await pages.form(request, visitor)
            guard let id = Int64(try context.parameters.require("id")), try await keys.delete(id: id, of: .user(user.id)) else { throw GatewayError.notFound }
            return pages.redirect("/settings/keys")
        }
        let admins = repositoryPages.routes(routes, requiring: .admin, refusal: "Only the repository's admins can change its settings.")
        admins.get("/:owner/:repo/settings/keys") { request, context in
            try await deployPage(try await repositoryPages.load(request, context))
        }
        admins.post("/:owner/:repo/settings/keys") { request, context in
            let page = try await repositoryPages.load(request, context)
            let form = try await pages.form(request, page.visitor)
            if let problem = try await add(form, to: .repository(page.repository.id), by: page.visitor.user!, readOnly: !form.isChecked("write")) {
                return try await deployPage(page, error: problem, status: .unprocessableContent)
            }
            return pages.redirect("/\(page.repository.fullName)/settings/keys")
        }
        admins.post("/:owner/:repo/settings/keys/:id/delete") { request, context in
            let page = try await repositoryPages.load(request, context)
            _ = try await pages.form(request, page.visitor)
            guard let id = Int64(try context.parameters.require("id")), try await keys.delete(id: id, of: .repository(page.repository.id)) else { throw GatewayError.notFound }
            return pages.redirect("/\(page.repository.fullName)/settings/keys")
        }
    }

    /// Adds the form's key; the reason when it cannot be.
    private func add(_ form: PageForm, to owner: SSHKeyStore.Owner, by user: User, readOnly: Bool = false) async throws -> String? {
        do {
            let key = try SSHPublicKey(form["key"] ?? "")
            let title = form.text("title").isEmpty ? SSHKeyStore.defaultTitle(for: key) : form.text("title")
            _ = try await keys.add(key, title: title, to: owner, readOnly: readOnly, addedBy: user.id)
            return nil
        } catch let problem as SSHPublicKey.Problem {
            return problem.description
        } catch let error as ModelError {
            return error.description
        }
    }

    private func accountPage(_ visitor: Visitor, _ user: User, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let view = SSHKeysView(
            deploy: false, settingsURL: "/settings", actionURL: "/settings/keys", keys: try await keys.list(.user(user.id)).map(SSHKeyRow.init), error: error)
        return pages.page("ssh_keys", title: "SSH keys", visitor, view, status: status)
    }

    private func deployPage(_ page: RepositoryPage, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let fullName = page.repository.fullName
        let view = SSHKeysView(
            deploy: true, settingsURL: "/\(fullName)/settings", actionURL: "/\(fullName)/settings/keys",
            keys: try await keys.list(.repository(page.repository.id)).map(SSHKeyRow.init), error: error)
        return repositoryPages.repositoryPage(
            page, header: page.header("settings", baseURL: repositoryPages.baseURL),
            body: pages.renderer.render("ssh_keys", view, csrf: page.visitor.csrfToken), title: "Deploy keys · \(fullName)", status: status)
    }
}

struct SSHKeysView {
    let deploy: Bool
    let settingsURL: String
    let actionURL: String
    let keys: [SSHKeyRow]
    let error: String?
}

struct SSHKeyRow {
    let id: Int64
    let title: String
    let kind: String
    let fingerprint: String
    let readOnly: Bool
    let created: String
    let lastUsed: String

    init(_ key: SSHKey) {
        id = key.id
        title = key.title
        kind = String(key.publicKey.prefix { $0 != " " })
        fingerprint = key.fingerprint
        readOnly = key.repositoryID != nil && key.readOnly
        created = PageFormat.age(key.createdAt)
        lastUsed = key.lastUsedAt.map { "last used \(PageFormat.age($0))" } ?? "never used"
    }
}
