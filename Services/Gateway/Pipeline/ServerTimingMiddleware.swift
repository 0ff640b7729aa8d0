import CairnProtocol
import HTTPTypes
import Hummingbird

/// Times each request's calls to the database, Redis, the repository store and the blob
/// store (`RequestTimings`) and, when the caller is a site admin, says where the time went
/// in a `Server-Timing` header (`db;desc="4 queries";dur=2.1, redis;…`).
struct ServerTimingMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    static let header = HTTPField.Name("Server-Timing")!

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        let timings = RequestTimings()
        var response = try await RequestTimings.$current.withValue(timings) { try await next(request, context) }
        if timings.isRevealed { response.headers[Self.header] = timings.serverTiming }
        return response
    }
}
