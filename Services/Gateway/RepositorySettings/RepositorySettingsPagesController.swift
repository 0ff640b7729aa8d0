import CairnModel
import CairnProtocol
import CairnService
import Foundation
import HTTPTypes
import NIOHTTP1
import Hummingbird

/// A repository's settings, for its admins: name, description, visibility, default branch,
/// collaborators, and deletion (the name typed to confirm).
struct RepositorySettingsPagesController: Sendable {
    let pages: Pages
    let users: UserStore
    let repositories: RepositoryStore
    let service: RepositoryService
    let content: RepositoryContent
    let repositoryPages: RepositoryPages

    func addRoutes(to routes: RouterGroup<GatewayContext>) {
        let router = repositoryPages.routes(routes, requiring: .admin, refusal: "Only the repository's admins can change its settings.")
        router.get("/:owner/:repo/settings") { request, context in
            let page = try await repositoryPages.load(request, context)
            return try await settings(page)
        }
        router.post("/:owner/:repo/settings") { request, context in
            let page = try await repositoryPages.load(request, context)
            let form = try await pages.form(request, page.visitor)
            let repository = page.repository
            let name = form.text("name")
            let branch = form.text("default_branch")
            do {
                // A form shown before someone else's save would undo it: refuse it whole.
                let version = Int64(form.text("version"))
                guard version == nil || version == repository.settingsVersion else { throw ModelError.stale("the repository's settings") }
                if !branch.isEmpty, branch != repository.defaultBranch {
                    try await content.setDefaultBranch(repository, branch)
                }
                try await repositories.update(
                    repository.id, name: name.isEmpty ? nil : name, description: form["description"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) },
                    isPrivate: form["visibility"].map { $0 == "private" }, defaultBranch: branch.isEmpty ? nil : branch, expectedVersion: version)
            } catch let error as ModelError {
                let status: HTTPResponse.Status = if case .stale = error { .conflict } else { .unprocessableContent }
                return try await settings(page, error: AccountPagesController.message(error), status: status)
            } catch GatewayError.invalid(let message) {
                return try await settings(page, error: message, status: .unprocessableContent)
            }
            return pages.redirect("/\(repository.ownerName)/\(name.isEmpty ? repository.name : name)/settings")
        }
        router.post("/:owner/:repo/settings/collaborators") { request, context in
            let page = try await repositoryPages.load(request, context)
            let form = try await pages.form(request, page.visitor)
            guard let user = try await users.find(username: form.text("username")) else {
                return try await settings(page, error: "There is no user named \(form.text("username")).", status: .unprocessableContent)
            }
            guard let permission = Permission(name: form.text("permission")), permission > .none else {
                return try await settings(page, error: "Choose read, write or admin.", status: .unprocessableContent)
            }
            guard user.id != page.repository.ownerID else {
                return try await settings(page, error: "\(user.username) owns this repository.", status: .unprocessableContent)
            }
            try await repositories.setCollaborator(repositoryID: page.repository.id, userID: user.id, permission: permission)
            return pages.redirect("/\(page.repository.fullName)/settings")
        }
        router.post("/:owner/:repo/settings/collaborators/:username/remove") { request, context in
            let page = try await repositoryPages.load(request, context)
            _ = try await pages.form(request, page.visitor)
            guard let user = try await users.find(username: context.parameters.require("username")),
                  try await repositories.removeCollaborator(repositoryID: page.repository.id, userID: user.id)
            else { throw GatewayError.notFound }
            return pages.redirect("/\(page.repository.fullName)/settings")
        }
        router.post("/:owner/:repo/settings/delete") { request, context in
            let page = try await repositoryPages.load(request, context)
            let form = try await pages.form(request, page.visitor)
            guard form.text("confirm") == page.repository.fullName else {
                return try await settings(page, error: "Type \(page.repository.fullName) to confirm the deletion.", status: .unprocessableContent)
            }
            try await service.delete(page.repository)
            return pages.redirect("/\(page.repository.ownerName)")
        }
    }

    private func settings(_ page: RepositoryPage, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let repository = page.repository
        let branches = (try? await content.refs(repository).branches.map(\.name).sorted()) ?? []
        let collaborators = try await repositories.collaborators(repositoryID: repository.id).map { user, permission in
            RepositorySettingsView.Collaborator(username: user.username, permission: permission.name, read: permission == .read, write: permission == .write, admin: permission == .admin)
        }
        let view = RepositorySettingsView(
            name: repository.name, fullName: repository.fullName, description: repository.description, isPrivate: repository.isPrivate,
            version: repository.settingsVersion,
            branches: branches.map { .init(name: $0, selected: $0 == repository.defaultBranch) }, collaborators: collaborators, error: error)
        return repositoryPages.repositoryPage(
            page, header: page.header("settings", baseURL: repositoryPages.baseURL), body: pages.renderer.render("repository_settings", view, csrf: page.visitor.csrfToken),
            title: "Settings · \(repository.fullName)", status: status)
    }
}

struct RepositorySettingsView {
    struct Branch {
        let name: String
        let selected: Bool
    }

    struct Collaborator {
        let username: String
        let permission: String
        let read: Bool
        let write: Bool
        let admin: Bool
    }

    let name: String
    let fullName: String
    let description: String
    let isPrivate: Bool
    /// The settings version the form was made from (see `Repository.settingsVersion`).
    let version: Int64
    let branches: [Branch]
    let collaborators: [Collaborator]
    let error: String?
}
