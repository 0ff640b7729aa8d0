import Hummingbird

/// The client address of the request being served (`GatewayContext.clientAddress`), for code
/// that sees the request but not its context: password limits in the authenticator.
enum ClientAddress {
    @TaskLocal static var current: String?
}

/// Sets `ClientAddress.current` for the rest of the request.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        try await ClientAddress.$current.withValue(context.clientAddress(request)) { try await next(request, context) }
    }
}
