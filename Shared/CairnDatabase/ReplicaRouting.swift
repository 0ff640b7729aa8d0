import CairnProtocol
public import Logging
public import PostgresNIO
import Synchronization

/// The read replicas of the main database and which of them may serve reads now.
/// `ReplicaMonitor` keeps `healthy` current; `DatabaseRouting` picks one per request.
public final class ReplicaSet: Sendable {
    /// The primary, whose reads may move to a replica.
    public let primary: PostgresClient
    public let replicas: [PostgresClient]
    private let state = Mutex<(healthy: [Bool], next: Int)>(([], 0))

    public init(primary: PostgresClient, replicas: [PostgresClient]) {
        self.primary = primary
        self.replicas = replicas
        state.withLock { $0.healthy = Array(repeating: false, count: replicas.count) }
    }

    /// Records whether replica `index` may serve reads.
    public func setHealthy(_ index: Int, _ healthy: Bool) {
        state.withLock { $0.healthy[index] = healthy }
    }

    public func isHealthy(_ index: Int) -> Bool { state.withLock { $0.healthy[index] } }

    /// A healthy replica, taken in turn, or nil when none is.
    public func pick() -> PostgresClient? {
        state.withLock { state in
            for offset in 0..<replicas.count {
                let index = (state.next + offset) % replicas.count
                if state.healthy[index] {
                    state.next = index + 1
                    return replicas[index]
                }
            }
            return nil
        }
    }

    /// Marks `client` unhealthy until the monitor finds it well again.
    func failed(_ client: PostgresClient) {
        guard let index = replicas.firstIndex(where: { $0 === client }) else { return }
        setHealthy(index, false)
    }
}

/// Where one request's queries go: reads to a replica while the request and its caller have
/// not written recently, everything else to the primary. A request's routing is a
/// task-local (`current`) that the gateway sets; queries outside it, transactions and
/// writes always use the primary. The first write of a request sends its later reads to
/// the primary too, and `wrote` tells the gateway to keep the caller on the primary for a
/// few seconds (read-your-writes).
public final class DatabaseRouting: Sendable {
    @TaskLocal public static var current: DatabaseRouting?

    public let replicas: ReplicaSet
    private let primaryOnly = Atomic<Bool>(false)
    private let wroteFlag = Atomic<Bool>(false)
    private let caller = Atomic<Int64>(0)

    public init(replicas: ReplicaSet) {
        self.replicas = replicas
    }

    /// Sends this request's remaining queries to the primary.
    public func usePrimary() { primaryOnly.store(true, ordering: .relaxed) }

    /// Whether this request's reads go to the primary (it wrote, or its caller did lately).
    public var readsPrimary: Bool { primaryOnly.load(ordering: .relaxed) }

    /// Whether this request wrote to the database.
    public var wrote: Bool { wroteFlag.load(ordering: .relaxed) }

    /// Records who the caller is, once the request knows.
    public func identify(_ userID: Int64) { caller.store(userID, ordering: .relaxed) }

    /// The caller, when identified.
    public var userID: Int64? {
        let id = caller.load(ordering: .relaxed)
        return id == 0 ? nil : id
    }

    /// The replica a read-only statement `sql` on `client` should run on, if any.
    func replica(for sql: String, on client: PostgresClient) -> PostgresClient? {
        guard client === replicas.primary else { return nil }
        guard Self.isRead(sql) else {
            wroteFlag.store(true, ordering: .relaxed)
            primaryOnly.store(true, ordering: .relaxed)
            return nil
        }
        guard !primaryOnly.load(ordering: .relaxed) else { return nil }
        return replicas.pick()
    }

    /// A statement a replica can answer: a plain `SELECT` that locks nothing.
    static func isRead(_ sql: String) -> Bool {
        let head = sql.drop { $0.isWhitespace }.prefix(6).uppercased()
        guard head == "SELECT" else { return false }
        let upper = sql.uppercased()
        return !upper.contains("FOR UPDATE") && !upper.contains("FOR SHARE") && !upper.contains("NEXTVAL(")
    }
}

extension DatabaseRouting {
    /// Runs statement `sql` (with `execute`) on the replica routing chose, falling back to
    /// `client` (and marking the replica unhealthy) when the replica fails to answer.
    static func run<Rows>(_ sql: String, on client: PostgresClient, logger: Logger, _ execute: (PostgresClient) async throws -> Rows) async throws -> Rows {
        if let routing = current, let replica = routing.replica(for: sql, on: client) {
            do {
                let start = ContinuousClock.now
                let rows = try await execute(replica)
                RequestTimings.current?.add(.replica, ContinuousClock.now - start)
                return rows
            } catch let error as PSQLError where error.code != .server {
                routing.replicas.failed(replica)
                logger.warning("replica.failed", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
        return try await execute(client)
    }
}

/// Checks every replica once a second: one that does not answer, or whose replay is more
/// than `maxLag` behind the primary, serves no reads until it catches up.
public struct ReplicaMonitor: Sendable {
    public let replicas: ReplicaSet
    public let maxLag: Duration
    public let logger: Logger

    public init(replicas: ReplicaSet, maxLag: Duration, logger: Logger) {
        self.replicas = replicas
        self.maxLag = maxLag
        self.logger = logger
    }

    /// Checks each replica now.
    public func check() async {
        let primaryPosition: String
        do {
            var position = ""
            for try await lsn in try await replicas.primary.query("SELECT pg_current_wal_lsn()::text", logger: logger).decode(String.self) { position = lsn }
            primaryPosition = position
        } catch {
            return  // without the primary's position, keep the last verdicts
        }
        for (index, replica) in replicas.replicas.enumerated() {
            let healthy: Bool
            do {
                var verdict = false
                let seconds = maxLag.seconds
                let rows = try await replica.query(
                    """
                    SELECT pg_wal_lsn_diff(\(primaryPosition)::pg_lsn, pg_last_wal_replay_lsn()) <= 0
                        OR coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) <= \(seconds)
                    """, logger: logger)
                for try await fresh in rows.decode(Bool.self) { verdict = fresh }
                healthy = verdict
            } catch {
                healthy = false
            }
            if replicas.isHealthy(index) != healthy {
                logger.notice(healthy ? "replica.serving" : "replica.skipped", metadata: ["replica": "\(index)"])
            }
            replicas.setHealthy(index, healthy)
        }
    }

    public func run(every interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            await check()
            try? await Task.sleep(for: interval)
        }
    }
}
