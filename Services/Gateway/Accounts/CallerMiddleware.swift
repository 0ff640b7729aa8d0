import Hummingbird

/// Works out who is calling the API, git or LFS once per request (a token, a password over
/// HTTP basic auth, or nobody) and puts the caller on the context for the handlers. Bad
/// credentials are refused here with 401, on every such route alike.
struct CallerMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let authenticator: Authenticator

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        var context = context
        context.caller = try await authenticator.authenticate(request)
        return try await next(request, context)
    }
}
