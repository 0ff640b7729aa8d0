import CairnModel
import Hummingbird

/// Resolves the repository of a `/{owner}/{repo}` route (`:owner` and `:repo` parameters; a
/// trailing `.git` is ignored on pages, as in a clone URL pasted into the browser) for the caller already on the context, requires the permission
/// the route declares, and puts the result on the context. It runs after routing, so every
/// route of a group declared with `RouterGroup.repository(_:_:)` is checked before its
/// handler starts.
struct RepositoryMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let access: RepositoryAccess
    let permission: Permission
    /// What a reader without `permission` is told (403); a generic sentence when nil.
    let refusal: String?
    /// Whether `repo.git` names `repo` (pages, whose views may take the repository from the
    /// gateway's directory); the API takes names as they are.
    var ignoresGitSuffix = false

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        var context = context
        var name = try context.parameters.require("repo")
        if ignoresGitSuffix && name.hasSuffix(".git") { name = String(name.dropLast(4)) }
        let viewing = ignoresGitSuffix && (request.method == .get || request.method == .head)
        let (repository, permission) = try await access.require(
            permission, owner: context.parameters.require("owner"), name: name, caller: context.caller, refusal: refusal, viewing: viewing)
        context.repository = ResolvedRepository(repository: repository, permission: permission)
        return try await next(request, context)
    }
}

extension RouterGroup where Context == GatewayContext {
    /// The routes added to the returned group need `permission` on the repository their
    /// `:owner` and `:repo` name (readers without it get 403 saying `refusal`, everyone who
    /// may not read it 404); their handlers read it with `context.resolvedRepository()`.
    func repository(_ permission: Permission, _ access: RepositoryAccess, refusal: String? = nil, ignoresGitSuffix: Bool = false) -> RouterGroup<GatewayContext> {
        group().add(middleware: RepositoryMiddleware(access: access, permission: permission, refusal: refusal, ignoresGitSuffix: ignoresGitSuffix))
    }
}
