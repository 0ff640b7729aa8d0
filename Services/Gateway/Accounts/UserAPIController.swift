import CairnModel
import CairnProtocol
import Hummingbird

/// `GET /api/v3/user`, `/users/{user}`, `/user/repos`, `/users/{user}/repos`, `POST /user/repos`.
struct UserAPIController: Sendable {
    let users: UserStore
    let repositories: RepositoryStore
    let service: RepositoryService
    let baseURL: String

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let api = router.group("/api/v3")
        api.get("/user") { request, context in
            let user = try signedIn(context).user!
            return try APIEncoding.response(APIUser(user, baseURL: baseURL, showEmail: true))
        }
        api.get("/users/:user") { _, context in
            let user = try await findUser(context.parameters.require("user"))
            return try APIEncoding.response(APIUser(user, baseURL: baseURL))
        }
        api.get("/user/repos") { request, context in
            let caller = try signedIn(context)
            let page = try Pagination(request)
            let found = try await repositories.list(member: caller.user!, limit: page.perPage + 1, offset: page.offset)
            return try listResponse(found, request: request, page: page, caller: caller)
        }
        api.get("/users/:user/repos") { request, context in
            let caller = context.caller
            let owner = try await findUser(context.parameters.require("user"))
            let page = try Pagination(request)
            let viewer = caller.credentialAllows(.read) ? caller.user : nil
            let found = try await repositories.list(ownerID: owner.id, viewer: viewer, limit: page.perPage + 1, offset: page.offset)
            return try listResponse(found, request: request, page: page, caller: caller)
        }
        api.post("/user/repos") { request, context in
            let caller = try signedIn(context)
            guard caller.credentialAllows(.write) else { throw GatewayError.forbidden("This token's scopes do not allow creating repositories") }
            let input = try await APIEncoding.decode(CreateRepository.self, from: request, context: context)
            do {
                let user = caller.user!
                let description = input.description ?? ""
                let initial = input.autoInit == true ? InitialCommit.readme(name: input.name, description: description, author: user) : nil
                let repository = try await service.create(owner: user, name: input.name, description: description, isPrivate: input.private ?? false, initial: initial)
                return try APIEncoding.response(APIRepository(repository, baseURL: baseURL, permission: .admin), status: .created)
            } catch let error as ModelError {
                throw GatewayError(error)
            }
        }
    }

    struct CreateRepository: Decodable {
        let name: String
        let description: String?
        let `private`: Bool?
        /// GitHub's `auto_init`: start with a README commit on `main`.
        let autoInit: Bool?
    }

    private func signedIn(_ context: GatewayContext) throws -> Caller {
        let caller = context.caller
        guard caller.user != nil else { throw GatewayError.authenticationRequired }
        return caller
    }

    private func findUser(_ name: String) async throws -> User {
        guard let user = try await users.find(username: name) else { throw GatewayError.notFound }
        return user
    }

    private func listResponse(_ found: [Repository], request: Request, page: Pagination, caller: Caller) throws -> Response {
        let shown = found.prefix(page.perPage).map { APIRepository($0, baseURL: baseURL, permission: nil) }
        return try APIEncoding.response(Array(shown), headers: page.linkHeader(request, baseURL: baseURL, hasMore: found.count > page.perPage))
    }
}

extension GatewayError {
    /// The API's view of a record's refusal: invalid input is 422, a taken name too.
    init(_ error: ModelError) {
        switch error {
        case .invalid, .taken: self = .invalid(error.description)
        case .notFound: self = .notFound
        case .stale: self = .conflict(error.description)
        }
    }
}
