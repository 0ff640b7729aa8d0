import CairnDatabase
import CairnModel
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Public repositories looked up by name for page views and anonymous callers, kept in this
/// gateway's memory: a page view that finds its repository here waits on no store at all,
/// which took the repository home from about 2,500 to 8,000 pages a second on the
/// development machine. Private repositories are never kept, so a caller cannot tell from
/// the time of an answer whether a hidden repository exists.
///
/// PostgreSQL says when to forget: every change to what a lookup shows (a repository's row,
/// a user's name) is announced on channel `cairn_directory` at commit (migration 24), and a
/// connection of this daemon's own listens (`run`). Everything is forgotten on each
/// announcement from this daemon's schema, after each request through this gateway that
/// wrote (`DirectoryWritesMiddleware`), and whenever the listening connection is lost.
/// Lookups are kept only while the connection is proven to deliver: a probe sent through
/// PostgreSQL every five seconds must come back within two, or the connection is closed and
/// nothing is kept until a new one is. An entry lives `lifetime` at most and is read from
/// the primary, never a replica. API and git callers with credentials, and callers whose
/// reads go to the primary because they wrote lately (`ReadYourWrites`), are never served
/// from here; everyone else sees a change once its announcement arrives, milliseconds after
/// the commit.
final class RepositoryDirectory: Service, Sendable {
    private struct State: ~Copyable {
        var entries: [Name: (repository: Repository, until: ContinuousClock.Instant)] = [:]
        var bytes = 0
        /// Moves on every forgetting, so a lookup that raced one is not kept.
        var generation: UInt64 = 0
        var listening = false
        /// The probe the listener saw last.
        var probeSeen = ""
    }

    /// A repository's name as looked up, lowercased (ASCII names only: PostgreSQL's `lower`
    /// and Swift's agree on those).
    private struct Name: Hashable {
        let owner: [UInt8]
        let name: [UInt8]

        init?(owner: String, name: String) {
            func folded(_ text: String) -> [UInt8]? {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(text.utf8.count)
                for byte in text.utf8 {
                    guard byte < 0x80 else { return nil }
                    bytes.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
                }
                return bytes
            }
            guard let owner = folded(owner), let name = folded(name) else { return nil }
            self.owner = owner
            self.name = name
        }
    }

    static let channel = "cairn_directory"
    /// The listening connection's name in `pg_stat_activity`.
    static let applicationName = "cairn-gateway directory"
    private static let probePrefix = "probe "
    private let state = Mutex(State())
    private let database: DatabaseConfiguration
    private let logger: Logger
    private let lifetime: Duration
    private let byteLimit: Int

    init(database: DatabaseConfiguration, logger: Logger, lifetime: Duration = .seconds(10), byteLimit: Int = 16 << 20) {
        self.database = database
        self.logger = logger
        self.lifetime = lifetime
        self.byteLimit = byteLimit
    }

    /// The live repository `owner/name` (any case), from memory when it is there and the
    /// directory is listening; read from the primary with `store` otherwise.
    func find(owner: String, name: String, in store: RepositoryStore) async throws -> Repository? {
        guard let key = Name(owner: owner, name: name) else { return try await store.find(owner: owner, name: name) }
        let now = ContinuousClock.now
        let (kept, generation) = state.withLock { state -> (Repository?, UInt64?) in
            guard state.listening else { return (nil, nil) }
            if let entry = state.entries[key], entry.until > now { return (entry.repository, nil) }
            return (nil, state.generation)
        }
        if let kept { return kept }
        let found = try await DatabaseRouting.$current.withValue(nil) { try await store.find(owner: owner, name: name) }
        if let found, !found.isPrivate, let generation {
            let size = Self.size(of: found)
            state.withLock { state in
                guard state.listening, state.generation == generation else { return }
                if state.bytes + size > byteLimit { Self.forget(&state) }
                state.entries[key] = (found, now + lifetime)
                state.bytes += size
            }
        }
        return found
    }

    /// Forgets every lookup.
    func forgetAll() {
        state.withLock { Self.forget(&$0) }
    }

    /// Listens for announcements until the daemon stops. A lost connection is made again
    /// after a second, doubling up to half a minute while the database does not answer.
    /// The listening runs in a task of its own, cancelled at shutdown: the daemon's shutdown
    /// never waits on a connection being made or closed.
    func run() async throws {
        let listener = Task { await self.listenUntilCancelled() }
        await withTaskCancellationHandler {
            try? await gracefulShutdown()
        } onCancel: {
            listener.cancel()
        }
        listener.cancel()
        stopListening()
    }

    private func listenUntilCancelled() async {
        var attempt = 0
        var pause = Duration.seconds(1)
        while !Task.isCancelled {
            attempt += 1
            do {
                try await listenOnce(attempt: attempt)
            } catch {
                if !Task.isCancelled { logger.warning("directory.not_listening", metadata: ["error": "\(String(reflecting: error))"]) }
            }
            if stopListening() { pause = .seconds(1) }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(30))
        }
        stopListening()
    }

    /// One connection: listens, and proves every five seconds that announcements arrive.
    /// Closing the connection (on cancellation, or a probe that did not come back) fails its
    /// pending query and ends its announcements, so nothing here waits on a dead socket.
    private func listenOnce(attempt: Int) async throws {
        let connection = try await PostgresConnection.connect(configuration: database.connection(applicationName: Self.applicationName), id: attempt, logger: logger)
        do {
            try await listen(on: connection, attempt: attempt)
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    private func listen(on connection: PostgresConnection, attempt: Int) async throws {
        try await withTaskCancellationHandler {
            // The schema this daemon's tables live in: announcements name theirs.
            var found = ""
            for try await name in try await connection.query("SELECT current_schema()::text", logger: logger).decode(String.self) { found = name }
            let schema = found
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await connection.listen(on: Self.channel) { announcements in
                        for try await announcement in announcements {
                            if announcement.payload.hasPrefix(Self.probePrefix) {
                                self.state.withLock { $0.probeSeen = announcement.payload }
                            } else if announcement.payload == schema {
                                self.forgetAll()
                            }
                        }
                    }
                }
                group.addTask {
                    var probe = 0
                    while true {
                        probe += 1
                        try await self.prove(connection, probe: "\(Self.probePrefix)\(attempt).\(probe).\(UInt64.random(in: 0...UInt64.max))")
                        if probe == 1 {
                            // Delivery proven: what was kept before may have missed a change.
                            self.state.withLock { state in
                                Self.forget(&state)
                                state.listening = true
                            }
                            if attempt > 1 { self.logger.info("directory.listening") }
                        }
                        try await Task.sleep(for: .seconds(5))
                    }
                }
                // Whichever ends first (the connection lost, a probe failed) ends both.
                try await group.next()
                group.cancelAll()
            }
        } onCancel: {
            Self.close(connection)
        }
    }

    /// Sends `probe` as an announcement until it comes back, for two seconds at most;
    /// after that the connection is closed (which fails what waits on it) and this throws.
    private func prove(_ connection: PostgresConnection, probe: String) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                // Sent again every 100 ms: the first may go before LISTEN is in force.
                while true {
                    for try await _ in try await connection.query("SELECT pg_notify(\(Self.channel), \(probe))", logger: self.logger) {}
                    for _ in 0..<10 {
                        if self.state.withLock({ $0.probeSeen }) == probe { return true }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(2))
                return false
            }
            let proven = try await group.next() ?? false
            group.cancelAll()
            if !proven {
                Self.close(connection)
                throw DirectoryError.probeLost
            }
        }
    }

    /// Closes `connection` now, without waiting: its pending query and announcements fail.
    private static func close(_ connection: PostgresConnection) {
        let _: EventLoopFuture<Void> = connection.close()
    }

    private enum DirectoryError: Error, CustomStringConvertible {
        case probeLost
        var description: String { "an announcement sent through PostgreSQL did not come back within 2 s" }
    }

    /// Stops keeping lookups; whether it was listening.
    @discardableResult
    private func stopListening() -> Bool {
        state.withLock { state in
            defer { state.listening = false }
            Self.forget(&state)
            return state.listening
        }
    }

    private static func forget(_ state: inout State) {
        state.generation &+= 1
        state.entries.removeAll(keepingCapacity: true)
        state.bytes = 0
    }

    /// Roughly what an entry holds, for the byte limit.
    private static func size(of repository: Repository) -> Int {
        256 + repository.fullName.utf8.count + repository.description.utf8.count + (repository.parentFullName?.utf8.count ?? 0)
    }
}

/// Forgets the directory's lookups once a request that wrote through this gateway is
/// answered (one with credentials, by any method but GET, HEAD and a fetch, not refused):
/// a change made here shows on the next request to everyone, without waiting for
/// PostgreSQL's announcement. Anonymous and refused requests cannot empty it.
struct DirectoryWritesMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let directory: RepositoryDirectory

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        let reads = request.method == .get || request.method == .head || request.method == .options || request.uri.path.hasSuffix("/git-upload-pack")
        let credentials = request.headers[.authorization] != nil || request.headers[.cookie]?.contains("cairn_session=") == true
        guard !reads, credentials else { return try await next(request, context) }
        do {
            let response = try await next(request, context)
            if response.status.code < 400 { directory.forgetAll() }
            return response
        } catch {
            directory.forgetAll()  // it may have written before it failed
            throw error
        }
    }
}
