import CairnModel
import Hummingbird

/// Stars and follows with GitHub's API: `PUT|DELETE|GET /user/starred/{o}/{r}`,
/// `GET /repos/{o}/{r}/stargazers`, `PUT|DELETE|GET /user/following/{user}`,
/// `GET /users/{user}/followers` and `…/following`. Starring needs read access (private
/// repositories are 404 to outsiders); changing either needs a token that may write.
struct SocialAPIController: Sendable {
    let access: RepositoryAccess
    let users: UserStore
    let social: SocialGraph
    let baseURL: String

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let api = router.group("/api/v3")
        api.get("/user/starred/:owner/:repo") { request, context in
            let (user, repository) = try await starTarget(request, context, changing: false)
            return Response(status: try await social.contains(.star, subject: user.id, object: repository.id) ? .noContent : .notFound)
        }
        api.put("/user/starred/:owner/:repo") { request, context in
            let (user, repository) = try await starTarget(request, context, changing: true)
            try await social.add(.star, subject: user.id, object: repository.id)
            return Response(status: .noContent)
        }
        api.delete("/user/starred/:owner/:repo") { request, context in
            let (user, repository) = try await starTarget(request, context, changing: true)
            try await social.remove(.star, subject: user.id, object: repository.id)
            return Response(status: .noContent)
        }
        api.repository(.read, access).get("/repos/:owner/:repo/stargazers") { request, context in
            let repository = try context.resolvedRepository().repository
            return try await userList(social.subjects(.star, of: repository.id), request)
        }
        api.get("/user/following/:user") { request, context in
            let (me, other) = try await followTarget(request, context, changing: false)
            return Response(status: try await social.contains(.follow, subject: me.id, object: other.id) ? .noContent : .notFound)
        }
        api.put("/user/following/:user") { request, context in
            let (me, other) = try await followTarget(request, context, changing: true)
            guard me.id != other.id else { throw GatewayError.invalid("You cannot follow yourself") }
            try await social.add(.follow, subject: me.id, object: other.id)
            return Response(status: .noContent)
        }
        api.delete("/user/following/:user") { request, context in
            let (me, other) = try await followTarget(request, context, changing: true)
            try await social.remove(.follow, subject: me.id, object: other.id)
            return Response(status: .noContent)
        }
        api.get("/users/:user/followers") { request, context in
            let user = try await named(context)
            return try await userList(social.subjects(.follow, of: user.id), request)
        }
        api.get("/users/:user/following") { request, context in
            let user = try await named(context)
            return try await userList(social.objects(.follow, of: user.id), request)
        }
    }

    private func signedIn(_ context: GatewayContext, changing: Bool) throws -> User {
        let caller = context.caller
        guard let user = caller.user else { throw GatewayError.authenticationRequired }
        if changing, !caller.credentialAllows(.write) { throw GatewayError.forbidden("This token's scopes do not allow changing stars or follows") }
        return user
    }

    private func starTarget(_ request: Request, _ context: GatewayContext, changing: Bool) async throws -> (User, Repository) {
        let user = try signedIn(context, changing: changing)
        let (repository, _) = try await access.require(.read, owner: context.parameters.require("owner"), name: context.parameters.require("repo"), caller: context.caller)
        return (user, repository)
    }

    private func followTarget(_ request: Request, _ context: GatewayContext, changing: Bool) async throws -> (User, User) {
        (try signedIn(context, changing: changing), try await named(context))
    }

    private func named(_ context: GatewayContext) async throws -> User {
        guard let user = try await users.find(username: try context.parameters.require("user")) else { throw GatewayError.notFound }
        return user
    }

    /// A page of users, by username, with GitHub's `Link` header.
    private func userList(_ ids: [Int64], _ request: Request) async throws -> Response {
        let page = try Pagination(request)
        let all = try await users.find(ids: ids)
        let shown = all.dropFirst(page.offset).prefix(page.perPage).map { APIUser($0, baseURL: baseURL) }
        return try APIEncoding.response(Array(shown), headers: page.linkHeader(request, baseURL: baseURL, hasMore: all.count > page.offset + page.perPage))
    }
}
