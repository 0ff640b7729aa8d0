import CairnModel
import Hummingbird

/// `GET /api/v3/repos/{o}/{r}/collaborators`, `GET|PUT|DELETE …/collaborators/{user}`.
struct CollaboratorAPIController: Sendable {
    let access: RepositoryAccess
    let users: UserStore
    let repositories: RepositoryStore
    let baseURL: String

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let collaborators = router.group("/api/v3/repos/:owner/:repo/collaborators")
        collaborators.repository(.write, access).get { request, context in
            let repository = try context.resolvedRepository().repository
            let list = try await repositories.collaborators(repositoryID: repository.id)
            return try APIEncoding.response(list.map { Collaborator(user: $0.0, permission: $0.1, baseURL: baseURL) })
        }
        collaborators.repository(.write, access).get(":user") { request, context in
            let repository = try context.resolvedRepository().repository
            let name = try context.parameters.require("user")
            let isCollaborator = try await repositories.collaborators(repositoryID: repository.id).contains { $0.0.username.lowercased() == name.lowercased() }
            return Response(status: isCollaborator || name.lowercased() == repository.ownerName.lowercased() ? .noContent : .notFound)
        }
        collaborators.repository(.admin, access).put(":user") { request, context in
            let repository = try context.resolvedRepository().repository
            let user = try await collaborator(context)
            var permission = Permission.write
            if request.headers[.contentLength].flatMap({ Int($0) }).map({ $0 > 0 }) ?? false {
                let input = try await APIEncoding.decode(SetPermission.self, from: request, context: context)
                if let name = input.permission {
                    guard let parsed = Permission(name: name) else { throw GatewayError.invalid("permission must be one of pull, push, admin (or read, write)") }
                    permission = parsed
                }
            }
            guard user.id != repository.ownerID else { throw GatewayError.invalid("The owner is already a collaborator") }
            try await repositories.setCollaborator(repositoryID: repository.id, userID: user.id, permission: permission)
            return Response(status: .noContent)
        }
        collaborators.repository(.admin, access).delete(":user") { request, context in
            let repository = try context.resolvedRepository().repository
            let user = try await collaborator(context)
            try await repositories.removeCollaborator(repositoryID: repository.id, userID: user.id)
            return Response(status: .noContent)
        }
    }

    struct SetPermission: Decodable { let permission: String? }

    struct Collaborator: Encodable {
        let login: String
        let id: Int64
        let type = "User"
        let url: String
        let permissions: APIRepository.Permissions
        let roleName: String

        init(user: User, permission: Permission, baseURL: String) {
            login = user.username
            id = user.id
            url = "\(baseURL)/api/v3/users/\(user.username)"
            permissions = .init(admin: permission >= .admin, push: permission >= .write, pull: permission >= .read)
            roleName = permission.name
        }
    }

    private func collaborator(_ context: GatewayContext) async throws -> User {
        guard let user = try await users.find(username: context.parameters.require("user")) else { throw GatewayError.notFound }
        return user
    }

}
