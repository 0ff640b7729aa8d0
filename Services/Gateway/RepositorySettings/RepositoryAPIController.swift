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
            return try APIEncoding.response(APIRepository(repository, baseURL: baseURL, permission: permission, showsParent: try await maySeeParent(repository, context.caller)))
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
        // Forks: any reader may fork (into their own account); the list shows only the forks
        // the caller may see.
        repos.repository(.read, access).post("forks") { request, context in
            let parent = try context.resolvedRepository().repository
            guard let user = context.caller.user else { throw GatewayError.authenticationRequired }
            guard context.caller.credentialAllows(.write) else { throw GatewayError.forbidden("This token's scopes do not allow creating repositories") }
            let input = try await APIEncoding.decodeIfPresent(CreateFork.self, from: request, context: context)
            if input?.organization != nil { throw GatewayError.invalid("organization: Cairn has no organizations; a fork goes to your own account") }
            do {
                let fork = try await service.fork(parent, owner: user, name: input?.name)
                return try APIEncoding.response(APIRepository(fork, baseURL: baseURL, permission: .admin, showsParent: true), status: .accepted)
            } catch let error as ModelError {
                throw GatewayError(error)
            }
        }
        repos.repository(.read, access).get("forks") { request, context in
            let parent = try context.resolvedRepository().repository
            let page = try Pagination(request)
            let viewer = context.caller.credentialAllows(.read) ? context.caller.user : nil
            let found = try await repositories.forks(of: parent.id, viewer: viewer, limit: page.perPage + 1, offset: page.offset)
            let shown = found.prefix(page.perPage).map { APIRepository($0, baseURL: baseURL, permission: nil, showsParent: true) }
            return try APIEncoding.response(Array(shown), headers: page.linkHeader(request, baseURL: baseURL, hasMore: found.count > page.perPage))
        }
        repos.repository(.admin, access).delete { request, context in
            let repository = try context.resolvedRepository().repository
            try await service.delete(repository)
            return Response(status: .noContent)
        }
    }

    /// Whether `caller` may read the fork's parent (asked only for a private parent).
    private func maySeeParent(_ repository: Repository, _ caller: Caller) async throws -> Bool {
        guard let parentID = repository.parentID, repository.parentIsPrivate else { return true }
        guard let parent = try await repositories.find(id: parentID), caller.credentialAllows(.read) else { return false }
        return try await repositories.permission(of: caller.user, on: parent) >= .read
    }

    /// `POST …/forks`: GitHub's body; every field may be left out.
    struct CreateFork: Decodable {
        let name: String?
        let organization: String?
    }

    struct UpdateRepository: Decodable {
        let name: String?
        let description: String?
        let `private`: Bool?
        let defaultBranch: String?
    }

}
