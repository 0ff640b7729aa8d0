import CairnModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSH
import ServiceLifecycle

/// Serves git over SSH on `host:port` for as long as the daemon runs: each connection
/// authenticates by key (`KeyAuthenticator`) within `authenticationDeadline` and in at most
/// 20 requests (NIOSSH counts every request, where OpenSSH's `MaxAuthTries` of 6 counts
/// failures: a client offering six keys makes 13), and each of its session channels (ten at
/// once at most, OpenSSH's `MaxSessions`) runs one command (`GitSessions`). At most
/// `maximumUnauthenticated` connections may be signing in at once (OpenSSH's `MaxStartups`),
/// so that strangers cannot fill `maximumConnections`. At shutdown it stops
/// accepting connections and sessions, lets the sessions under way finish (the service
/// group's grace period bounds the wait), and then closes every connection.
struct SSHListener: Service {
    let host: String
    let port: Int
    let hostKey: NIOSSHPrivateKey
    let identities: SSHIdentities
    let sessions: GitSessions
    let logger: Logger
    var authenticationDeadline: TimeAmount = .seconds(60)
    /// Connections beyond this are closed at once.
    var maximumConnections = 1000
    /// Connections not yet authenticated beyond this are closed at once.
    var maximumUnauthenticated = 100
    /// Told the bound port (for tests that bind port 0).
    var onListening: @Sendable (Int) -> Void = { _ in }

    func run() async throws {
        let connections = Connections()
        let server = try await bind(connections: connections)
        let address = server.localAddress
        onListening(address?.port ?? port)
        logger.info("sshd.listening", metadata: ["sshd.address": "\(host):\(address?.port ?? port)"])
        // Until SIGTERM (or cancellation); then no new connections or sessions, and those under way may finish.
        try? await gracefulShutdown()
        connections.drain()
        try? await server.close()
        while connections.sessions > 0, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
        }
        connections.closeAll()
    }

    private func bind(connections: Connections) async throws -> any Channel {
        let (hostKey, identities, sessions, logger, deadline) = (hostKey, identities, sessions, logger, authenticationDeadline)
        let limits = (all: maximumConnections, unauthenticated: maximumUnauthenticated)
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard connections.open(channel, limits: limits) else {
                    logger.warning("sshd.too_many_connections", metadata: ["sshd.limit": "\(limits)"])
                    return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
                }
                let authenticator = KeyAuthenticator(identities: identities, logger: logger) { connections.authenticated(channel) }
                // A connection that has not authenticated in time is dropped.
                channel.eventLoop.scheduleTask(in: deadline) {
                    if authenticator.authenticated == nil { channel.close(promise: nil) }
                }
                var configuration = SSHServerConfiguration(hostKeys: [hostKey], userAuthDelegate: authenticator)
                configuration.maxAuthAttempts = 20
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSHHandler(
                        role: .server(configuration),
                        allocator: channel.allocator,
                        inboundChildChannelInitializer: { child, type in
                            guard case .session = type, let session = connections.startSession(on: channel) else {
                                return child.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
                            }
                            return child.eventLoop.makeCompletedFuture {
                                do {
                                    try Self.startSession(on: child, sessions: sessions, identity: authenticator.authenticated, done: session)
                                } catch {
                                    session()
                                    throw error
                                }
                            }
                        }))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Sets up a session channel (on its event loop) and serves it in a task of its own;
    /// `done` runs when it ends.
    private static func startSession(on child: any Channel, sessions: GitSessions, identity: SSHIdentity?, done: @escaping @Sendable () -> Void) throws {
        // git half-closes its side once it has sent everything; the answer must still go back.
        try child.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let requests = SessionRequestHandler(eventLoop: child.eventLoop)
        try child.pipeline.syncOperations.addHandler(requests)
        let channel = try NIOAsyncChannel<SSHChannelData, SSHChannelData>(wrappingChannelSynchronously: child)
        let request = requests.request
        Task {
            defer { done() }
            await sessions.serve(channel, request: request, identity: identity)
        }
    }
}

/// The open connections and their sessions under way, for the limits and the drain.
final class Connections: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        /// Those not yet authenticated.
        var pending: Set<ObjectIdentifier> = []
        var sessions: [ObjectIdentifier: Int] = [:]
        var draining = false
    }
    private let state = NIOLockedValueBox(State())
    /// OpenSSH's `MaxSessions`.
    static let sessionsPerConnection = 10

    /// Sessions under way, over every connection.
    var sessions: Int { state.withLockedValue { $0.sessions.values.reduce(0, +) } }

    /// Counts `channel` in, as not yet authenticated, until it closes; false while draining or
    /// when either limit is reached.
    func open(_ channel: any Channel, limits: (all: Int, unauthenticated: Int)) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLockedValue { state in
            guard !state.draining, state.channels.count < limits.all, state.pending.count < limits.unauthenticated else { return false }
            state.channels[id] = channel
            state.pending.insert(id)
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { [state] _ in
                state.withLockedValue { state in
                    state.channels[id] = nil
                    state.pending.remove(id)
                }
            }
        }
        return admitted
    }

    /// `channel` signed in: it no longer counts against the unauthenticated limit.
    func authenticated(_ channel: any Channel) {
        _ = state.withLockedValue { $0.pending.remove(ObjectIdentifier(channel)) }
    }

    /// A new session on `connection`, with what to call when it ends; nil while draining or
    /// when the connection has its fill.
    func startSession(on connection: any Channel) -> (@Sendable () -> Void)? {
        let id = ObjectIdentifier(connection)
        let started = state.withLockedValue { state in
            guard !state.draining, state.sessions[id, default: 0] < Self.sessionsPerConnection else { return false }
            state.sessions[id, default: 0] += 1
            return true
        }
        guard started else { return nil }
        return { [state] in
            state.withLockedValue { state in
                let left = state.sessions[id, default: 1] - 1
                state.sessions[id] = left > 0 ? left : nil
            }
        }
    }

    /// No new connections or sessions from now on.
    func drain() { state.withLockedValue { $0.draining = true } }

    /// Closes every connection still open.
    func closeAll() {
        for channel in state.withLockedValue({ Array($0.channels.values) }) { channel.close(promise: nil) }
    }
}
