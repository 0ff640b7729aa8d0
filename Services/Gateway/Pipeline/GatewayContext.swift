import Hummingbird
import NIOCore

/// The gateway's request context: Hummingbird's core storage plus the peer's address, which
/// sign-in rate limiting needs.
struct GatewayContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
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
