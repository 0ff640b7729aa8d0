import CairnModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSH
import ServiceLifecycle

/// Serves git over SSH on `host:port` for as long as the daemon runs: each connection
/// authenticates by key (`KeyAuthenticator`) within `authenticationDeadline`, and each of its
/// session channels runs one command (`GitSessions`). At shutdown it stops accepting and lets
/// the sessions under way finish (the service group's grace period bounds the wait).
struct SSHListener: Service {
    let host: String
    let port: Int
    let hostKey: NIOSSHPrivateKey
    let keys: SSHKeyStore
    let users: UserStore
    let sessions: GitSessions
    let logger: Logger
    var authenticationDeadline: TimeAmount = .seconds(60)
    /// Told the bound port (for tests that bind port 0).
    var onListening: @Sendable (Int) -> Void = { _ in }

    func run() async throws {
        let connections = ConnectionCount()
        let server = try await bind(connections: connections)
        let address = server.localAddress
        onListening(address?.port ?? port)
        logger.info("sshd.listening", metadata: ["sshd.address": "\(host):\(address?.port ?? port)"])
        // Until SIGTERM (or cancellation); then no new connections, and those open may finish.
        try? await gracefulShutdown()
        try? await server.close()
        while connections.open > 0, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func bind(connections: ConnectionCount) async throws -> any Channel {
        let (hostKey, keys, users, sessions, logger, deadline) = (hostKey, keys, users, sessions, logger, authenticationDeadline)
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                connections.opened()
                channel.closeFuture.whenComplete { _ in connections.closed() }
                let authenticator = KeyAuthenticator(keys: keys, users: users, logger: logger)
                // A connection that has not authenticated in time is dropped.
                channel.eventLoop.scheduleTask(in: deadline) {
                    if authenticator.authenticated == nil { channel.close(promise: nil) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSHHandler(
                        role: .server(.init(hostKeys: [hostKey], userAuthDelegate: authenticator)),
                        allocator: channel.allocator,
                        inboundChildChannelInitializer: { child, type in
                            guard case .session = type else { return child.eventLoop.makeFailedFuture(ChannelError.operationUnsupported) }
                            return child.eventLoop.makeCompletedFuture {
                                try Self.startSession(on: child, sessions: sessions, identity: authenticator.authenticated)
                            }
                        }))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Sets up a session channel (on its event loop) and serves it in a task of its own.
    private static func startSession(on child: any Channel, sessions: GitSessions, identity: SSHIdentity?) throws {
        // git half-closes its side once it has sent everything; the answer must still go back.
        try child.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let requests = SessionRequestHandler(eventLoop: child.eventLoop)
        try child.pipeline.syncOperations.addHandler(requests)
        let channel = try NIOAsyncChannel<SSHChannelData, SSHChannelData>(wrappingChannelSynchronously: child)
        let request = requests.request
        Task { await sessions.serve(channel, request: request, identity: identity) }
    }
}

/// How many SSH connections are open.
final class ConnectionCount: Sendable {
    private let count = NIOLockedValueBox(0)
    var open: Int { count.withLockedValue { $0 } }
    func opened() { count.withLockedValue { $0 += 1 } }
    func closed() { count.withLockedValue { $0 -= 1 } }
}
