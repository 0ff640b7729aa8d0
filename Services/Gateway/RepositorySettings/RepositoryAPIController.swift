import CairnModel
import CairnProtocol
import CairnService
import NIOHTTP1
import Hummingbird

/// `GET|PATCH|DELETE /api/v3/repos/{owner}/{repo}`.
struct RepositoryAPIController: Sendable {
    let access: RepositoryAccess
    let repositories: RepositoryStore
    let service: RepositoryService
    let repostore: InternalClient
    let baseURL: String

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let repos = router.group("/api/v3/repos/:owner/:repo")
        repos.repository(.read, access).get { request, context in
            let resolved = try context.resolvedRepository()
            let permission = resolved.permission
            var repository = resolved.repository
            if repository.defaultBranch == nil {
                // Until the default is set, it is the branch HEAD names (what the first push created).
                repository.defaultBranch = try await repostore.getJSON(GitRefs.self, "/repos/\(repository.id)/refs")?.head
            }
            return try APIEncoding.response(APIRepository(repository, baseURL: baseURL, permission: permission))
        }
        repos.repository(.admin, access).patch { request, context in
            let resolved = try context.resolvedRepository()
            let (repository, permission) = (resolved.repository, resolved.permission)
            let input = try await APIEncoding.decode(UpdateRepository.self, from: request, context: context)
            if let branch = input.defaultBranch {
                try await RepositoryContent(repostore: repostore).setDefaultBranch(repository, branch)
            }
            do {
                try await repositories.update(repository.id, name: input.name, description: input.description, isPrivate: input.private, defaultBranch: input.defaultBranch)
            } catch let error as ModelError {
                throw GatewayError(error)
            }
            guard let updated = try await repositories.find(id: repository.id) else { throw GatewayError.notFound }
            return try APIEncoding.response(APIRepository(updated, baseURL: baseURL, permission: permission))
        }
        repos.repository(.admin, access).delete { request, context in
            let repository = try context.resolvedRepository().repository
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

}
