import CairnModel
import Hummingbird

/// `GET|PATCH|DELETE /api/v3/repos/{owner}/{repo}`.
struct RepositoryAPIController: Sendable {
    let authenticator: Authenticator
    let access: RepositoryAccess
    let repositories: RepositoryStore
    let service: RepositoryService
    let baseURL: String

    func addRoutes(to router: Router<BasicRequestContext>) {
        let repos = router.group("/api/v3/repos/:owner/:repo")
        repos.get { request, context in
            let (repository, permission) = try await resolve(.read, request, context)
            return try APIEncoding.response(APIRepository(repository, baseURL: baseURL, permission: permission))
        }
        repos.patch { request, context in
            let (repository, permission) = try await resolve(.admin, request, context)
            let input = try await APIEncoding.decode(UpdateRepository.self, from: request, context: context)
            do {
                try await repositories.update(repository.id, name: input.name, description: input.description, isPrivate: input.private, defaultBranch: input.defaultBranch)
            } catch let error as ModelError {
                throw GatewayError(error)
            }
            guard let updated = try await repositories.find(id: repository.id) else { throw GatewayError.notFound }
            return try APIEncoding.response(APIRepository(updated, baseURL: baseURL, permission: permission))
        }
        repos.delete { request, context in
            let (repository, _) = try await resolve(.admin, request, context)
            try await service.delete(repository)
            return Response(status: .noContent)
        }
    }

    struct UpdateRepository: Decodable {
        let name: String?
        let description: String?
        let `private`: Bool?
        let defaultBranch: String?
    }

    private func resolve(_ needed: Permission, _ request: Request, _ context: BasicRequestContext) async throws -> (Repository, Permission) {
        let caller = try await authenticator.authenticate(request)
        return try await access.require(needed, owner: context.parameters.require("owner"), name: context.parameters.require("repo"), caller: caller)
    }
}
