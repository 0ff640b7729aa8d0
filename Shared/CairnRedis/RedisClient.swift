import CairnProtocol
public import Logging
import NIOPosix
import Synchronization

/// A pool of Redis connections whose blocking calls run on a thread pool of their own,
/// never on Swift's cooperative threads or a NIO event loop.
///
/// A connection that breaks is dropped and a new one made on the next call; a command that
/// fails because an idle connection was closed under it is retried once on a fresh one.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let threads: NIOThreadPool
    private let state: Mutex<PoolState>
    private let logger: Logger

    private struct PoolState: ~Copyable {
        var idle: [RedisConnection] = []
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    public init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.threads = NIOThreadPool(numberOfThreads: max(1, configuration.poolSize))
        self.threads.start()
        self.state = Mutex(PoolState())
        self.logger = logger
    }

    /// Sends a command made of text arguments.
    @discardableResult
    public func send(_ arguments: String...) async throws(RedisError) -> RedisValue {
        try await send(arguments.map { Array($0.utf8) })
    }

    /// Sends a command made of text arguments.
    @discardableResult
    public func send(_ arguments: [String]) async throws(RedisError) -> RedisValue {
        try await send(arguments.map { Array($0.utf8) })
    }

    /// Sends a binary-safe command. `blocking` raises the read time-out for commands
    /// like `BLMOVE` that wait on the server.
    @discardableResult
    public func send(_ arguments: [[UInt8]], blocking: Duration? = nil) async throws(RedisError) -> RedisValue {
        let start = ContinuousClock.now
        defer { RequestTimings.current?.add(.redis, ContinuousClock.now - start) }
        var (connection, reused) = try await checkOut()
        do {
            let value = try await run(arguments, on: connection, blocking: blocking)
            checkIn(connection)
            return value
        } catch .connectionLost(let command, let reason) where reused {
            discard()
            logger.debug("redis.reconnect", metadata: ["redis.command": "\(command)", "redis.reason": "\(reason)"])
            (connection, reused) = try await checkOut(fresh: true)
            do {
                let value = try await run(arguments, on: connection, blocking: blocking)
                checkIn(connection)
                return value
            } catch {
                release(connection, after: error)
                throw error
            }
        } catch {
            release(connection, after: error)
            throw error
        }
    }

    /// Closes every idle connection and refuses further commands.
    public func shutdown() async {
        let waiters = state.withLock { state in
            state.closed = true
            state.idle.removeAll()
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
        try? await threads.shutdownGracefully()
    }

    private func run(_ arguments: [[UInt8]], on connection: RedisConnection, blocking: Duration?) async throws(RedisError) -> RedisValue {
        let timeout = configuration.timeout
        let result: Result<RedisValue, RedisError>
        do {
            result = try await threads.runIfActive {
                if let blocking { connection.setTimeout(blocking + timeout) }
                defer { if blocking != nil { connection.setTimeout(timeout) } }
                return Result { () throws(RedisError) in try connection.send(arguments) }
            }
        } catch {
            throw .closed
        }
        return try result.get()
    }

    /// Keeps a connection that is still usable; a broken one is dropped.
    private func release(_ connection: RedisConnection, after error: RedisError) {
        if case .command = error { checkIn(connection) } else { discard() }
    }

    private func checkOut(fresh: Bool = false) async throws(RedisError) -> (RedisConnection, reused: Bool) {
        while true {
            enum Next { case use(RedisConnection), connect, wait, closed }
            let next: Next = state.withLock { state in
                if state.closed { return .closed }
                if !fresh, let connection = state.idle.popLast() { return .use(connection) }
                if state.open < configuration.poolSize { state.open += 1; return .connect }
                // A fresh connection in a full pool replaces an idle one, which is closed.
                if fresh, !state.idle.isEmpty { state.idle.removeLast(); return .connect }
                return .wait
            }
            switch next {
            case .use(let connection): return (connection, true)
            case .closed: throw .closed
            case .connect:
                do {
                    return (try await connect(), false)
                } catch {
                    discard()
                    throw error
                }
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state in
                        if state.closed || !state.idle.isEmpty || state.open < configuration.poolSize { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    private func connect() async throws(RedisError) -> RedisConnection {
        let configuration = configuration
        let result: Result<RedisConnection, RedisError>
        do {
            result = try await threads.runIfActive {
                Result { () throws(RedisError) in
                    let connection = try RedisConnection(host: configuration.host, port: configuration.port, timeout: configuration.timeout)
                    if let password = configuration.password { _ = try connection.send([Array("AUTH".utf8), Array(password.utf8)]) }
                    if configuration.database != 0 { _ = try connection.send([Array("SELECT".utf8), Array(String(configuration.database).utf8)]) }
                    return connection
                }
            }
        } catch {
            throw .closed
        }
        return try result.get()
    }

    private func checkIn(_ connection: RedisConnection) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.closed { state.open -= 1; return nil }
            state.idle.append(connection)
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
        }
        waiter?.resume()
    }

    private func discard() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.open -= 1
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst()
        }
        waiter?.resume()
    }
}
