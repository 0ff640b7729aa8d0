import CairnDatabase
import CairnRedis
import HTTPTypes
import Hummingbird

/// Sends each request's reads to a replica when the gateway has some (`DatabaseRouting`),
/// except for callers who wrote in the last `window`: a browser is known by a short-lived
/// cookie set with the answer to its write, an API caller by a Redis key under their user
/// id (checked once they are identified, see `identify`). Everything a request does after
/// its own first write goes to the primary as well.
struct ReadYourWrites: Sendable {
    let replicas: ReplicaSet
    let redis: RedisClient
    let namespace: String
    let window: Duration
    static let cookie = "cairn_rw"

    private func key(_ userID: Int64) -> String { "\(namespace):rw:\(userID)" }

    /// Sends the current request to the primary if `userID` wrote within the window.
    func identify(_ userID: Int64) async {
        guard let routing = DatabaseRouting.current else { return }
        routing.identify(userID)
        if (try? await redis.send("EXISTS", key(userID)).int) == 1 { routing.usePrimary() }
    }

    /// Remembers a request that wrote, for its caller's next reads.
    func remember(_ routing: DatabaseRouting, _ response: inout Response) async {
        guard routing.wrote, window > .zero else { return }
        let seconds = max(1, Int(window.components.seconds))
        response.headers.append(HTTPField(name: .setCookie, value: "\(Self.cookie)=1; Max-Age=\(seconds); Path=/; HttpOnly; SameSite=Lax"))
        if let userID = routing.userID { _ = try? await redis.send("SET", key(userID), "1", "EX", String(seconds)) }
    }
}

/// Puts every request under `DatabaseRouting` (see `ReadYourWrites`).
struct ReplicaRoutingMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let readYourWrites: ReadYourWrites

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        let routing = DatabaseRouting(replicas: readYourWrites.replicas)
        if request.cookies[ReadYourWrites.cookie] != nil { routing.usePrimary() }
        var response = try await DatabaseRouting.$current.withValue(routing) { try await next(request, context) }
        await readYourWrites.remember(routing, &response)
        return response
    }
}
