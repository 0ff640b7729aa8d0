import Hummingbird

/// Works out the page visitor once per request from the session cookie and puts it on the
/// context, with the caller it stands for (the session's user, with every right they have).
struct VisitorMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let sessions: PageSessions

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        var context = context
        let visitor = try await sessions.visitor(request)
        context.visitor = visitor
        context.caller = Caller(user: visitor.user, scopes: nil)
        return try await next(request, context)
    }
}
