import CairnModel
import Hummingbird
import NIOCore

/// The gateway's request context: Hummingbird's core storage, the peer's address (which
/// sign-in rate limiting needs), who is calling, and, on `/{owner}/{repo}` routes, the
/// repository the route's declared permission was checked on.
struct GatewayContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    /// Who is calling: set once per request by `CallerMiddleware` (API, git, LFS: a token,
    /// a password, or nobody) or `VisitorMiddleware` (pages: the session's user).
    var caller: Caller = .anonymous
    /// The page visitor with its session, set by `VisitorMiddleware` on page routes.
    var visitor: Visitor?
    /// The route's repository and the caller's permission on it, set by `RepositoryMiddleware`.
    var repository: ResolvedRepository?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The page visitor; a route outside the page routes asking for one is a wiring mistake,
    /// answered 500 rather than trapping.
    func pageVisitor() throws -> Visitor {
        guard let visitor else { throw HTTPError(.internalServerError, message: "a page handler ran without VisitorMiddleware") }
        return visitor
    }

    /// The route's repository; only routes declared with `RouterGroup.repository(_:_:)` have one.
    func resolvedRepository() throws -> ResolvedRepository {
        guard let repository else { throw HTTPError(.internalServerError, message: "a repository handler ran without RepositoryMiddleware") }
        return repository
    }

    /// The client's IP address: the peer's, or the `X-Real-IP` that a proxy on loopback
    /// (the nginx of `deploy/nginx`) set; never a header from anyone else.
    func clientAddress(_ request: Request) -> String {
        let peer = remoteAddress?.ipAddress ?? "unknown"
        let fromLoopback = peer == "127.0.0.1" || peer == "::1" || peer.hasPrefix("::ffff:127.")
        if fromLoopback, let forwarded = request.headers[.init("X-Real-IP")!], !forwarded.isEmpty, forwarded.count <= 64 {
            return forwarded
        }
        return peer
    }
}

/// A repository a route resolved, with the caller's permission on it (at least what the
/// route declared).
struct ResolvedRepository: Sendable {
    let repository: Repository
    let permission: Permission
}
