import CairnDatabase
import CairnModel
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Repositories looked up by name for page views and anonymous callers, kept in this
/// gateway's memory: a page view that finds its repository here waits on no store at all,
/// which took the repository home from about 2,500 to 7,000 pages a second on the
/// development machine.
///
/// PostgreSQL says when to forget: every change to a repository's row or to a user's name
/// is announced on channel `cairn_directory` at commit (migration 24), and a connection of
/// this daemon's own listens (`run`). Everything is forgotten on each announcement, on each
/// request through this gateway that may have written (`forgetAll`, from
/// `DirectoryWritesMiddleware`), and whenever the listening connection is lost; nothing is
/// kept while it is down. A lookup is kept `lifetime` at most, against an announcement lost
/// unnoticed, and is read from the primary, never a replica. API and git callers with
/// credentials, and callers whose reads go to the primary because they wrote lately
/// (`ReadYourWrites`), are never served from here; everyone else sees a change once its
/// announcement arrives, within milliseconds (as soon as a replica would show it).
final class RepositoryDirectory: Service, Sendable {
    private struct State: ~Copyable {
        var entries: [Name: (repository: Repository, until: ContinuousClock.Instant)] = [:]
        /// Moves on every forgetting, so a lookup that raced one is not kept.
        var generation: UInt64 = 0
        var listening = false
    }

    /// A repository's name as looked up (case does not matter).
    private struct Name: Hashable {
        let owner: String
        let name: String
    }

    static let channel = "cairn_directory"
    /// The listening connection's name in `pg_stat_activity`.
    static let applicationName = "cairn-gateway directory"
    private let state = Mutex(State())
    private let database: DatabaseConfiguration
    private let logger: Logger
    private let lifetime: Duration
    private let limit: Int

    init(database: DatabaseConfiguration, logger: Logger, lifetime: Duration = .seconds(10), limit: Int = 50_000) {
        self.database = database
        self.logger = logger
        self.lifetime = lifetime
        self.limit = limit
    }

    /// The live repository `owner/name` (any case), from memory when it is there and the
    /// directory is listening; read from the primary with `store` otherwise.
    func find(owner: String, name: String, in store: RepositoryStore) async throws -> Repository? {
        let key = Name(owner: owner.lowercased(), name: name.lowercased())
        let now = ContinuousClock.now
        let (kept, generation) = state.withLock { state -> (Repository?, UInt64?) in
            guard state.listening else { return (nil, nil) }
            if let entry = state.entries[key], entry.until > now { return (entry.repository, nil) }
            return (nil, state.generation)
        }
        if let kept { return kept }
        let found = try await DatabaseRouting.$current.withValue(nil) { try await store.find(owner: owner, name: name) }
        if let found, let generation {
            state.withLock { state in
                guard state.listening, state.generation == generation else { return }
                if state.entries.count >= limit { state.entries.removeAll(keepingCapacity: true) }
                state.entries[key] = (found, now + lifetime)
            }
        }
        return found
    }

    /// Forgets every lookup.
    func forgetAll() {
        state.withLock { Self.forget(&$0) }
    }

    /// Whether lookups are kept now (the listening connection is up).
    var isListening: Bool { state.withLock { $0.listening } }

    /// Listens for announcements until the daemon stops. A lost connection is made again
    /// after a second, doubling up to half a minute while the database does not answer; a
    /// query every five seconds notices a connection that died without closing.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            var attempt = 0
            var pause = Duration.seconds(1)
            while !Task.isCancelled {
                attempt += 1
                do {
                    try await self.listenOnce(attempt: attempt)
                } catch {
                    if !Task.isCancelled { self.logger.warning("directory.not_listening", metadata: ["error": "\(String(reflecting: error))"]) }
                }
                if self.stopListening() { pause = .seconds(1) }
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(30))
            }
        }
        stopListening()
    }

    private func listenOnce(attempt: Int) async throws {
        let connection = try await PostgresConnection.connect(configuration: database.connection(applicationName: Self.applicationName), id: attempt, logger: logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await connection.listen(on: Self.channel) { announcements in
                        // LISTEN is in force: what was kept before it may have missed a change.
                        self.state.withLock { state in
                            Self.forget(&state)
                            state.listening = true
                        }
                        if attempt > 1 { self.logger.info("directory.listening") }
                        for try await announcement in announcements where self.concerns(announcement.payload) { self.forgetAll() }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(5))
                        for try await _ in try await connection.query("SELECT 1", logger: self.logger) {}
                    }
                }
                // Whichever ends first (the connection lost, a probe failed) ends both.
                try await group.next()
                group.cancelAll()
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    /// Whether an announcement from schema `schema` is about this daemon's database: any is,
    /// unless the configuration names a search path (the tests' schema of their own).
    private func concerns(_ schema: String) -> Bool {
        guard let searchPath = database.searchPath, let first = searchPath.split(separator: ",").first else { return true }
        return first.trimmingCharacters(in: .whitespaces) == schema
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
    }
}

/// Forgets the directory's lookups once a request that may have written (any method but
/// GET, HEAD and OPTIONS) is answered: a change made through this gateway shows on its next
/// request to everyone, without waiting for PostgreSQL's announcement.
struct DirectoryWritesMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let directory: RepositoryDirectory

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        switch request.method {
        case .get, .head, .options: return try await next(request, context)
        case .post where request.uri.path.hasSuffix("/git-upload-pack"):  // a fetch writes nothing
            return try await next(request, context)
        default:
            defer { directory.forgetAll() }
            return try await next(request, context)
        }
    }
}
