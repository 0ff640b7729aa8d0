public import Logging
public import PostgresNIO
import CairnProtocol
import Synchronization

/// Every query Cairn's stores run goes through `run` (on a client or a connection): it is
/// counted and timed for the request it serves (`RequestTimings`), logged with its SQL when
/// it takes longer than the slow-query threshold, logged always while `cairnctl debug-sql`
/// is on, and captured for the query-plan test when capturing is on.
public enum SQLLog {
    private static let settings = Mutex<(slow: Duration, debugUntil: ContinuousClock.Instant?)>((.milliseconds(500), nil))
    private static let captured = Mutex<(keeps: @Sendable (Logger) -> Bool, queries: [PostgresQuery])?>(nil)

    /// Queries slower than `threshold` are logged as warnings with their SQL.
    public static func configure(slowThreshold threshold: Duration) {
        settings.withLock { $0.slow = threshold }
    }

    /// Logs every query until `until` (nil: stop now).
    public static func debug(until: ContinuousClock.Instant?) {
        settings.withLock { $0.debugUntil = until }
    }

    /// Starts keeping the queries run in this process whose logger `keeps` accepts (for
    /// tests: the logger's metadata tells whose query it is).
    public static func startCapturing(keeping keeps: @escaping @Sendable (Logger) -> Bool = { _ in true }) {
        captured.withLock { $0 = (keeps, []) }
    }

    /// Stops keeping queries and hands over those kept.
    public static func stopCapturing() -> [PostgresQuery] { captured.withLock { state in defer { state = nil }; return state?.queries ?? [] } }

    /// Runs `run`, timing and logging it as statement `sql`; `query` (with its bindings) is
    /// built only when it is captured.
    static func observe<Rows>(_ sql: String, _ query: @autoclosure () throws -> PostgresQuery, _ logger: Logger, _ run: () async throws -> Rows) async throws -> Rows {
        if let keeps = captured.withLock({ $0?.keeps }), keeps(logger) {
            let built = try query()
            captured.withLock { $0?.queries.append(built) }
        }
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            RequestTimings.current?.add(.database, elapsed)
            let (slow, debugUntil) = settings.withLock { ($0.slow, $0.debugUntil) }
            let debugging = debugUntil.map { ContinuousClock.now < $0 } ?? false
            if elapsed > slow || debugging {
                let level: Logger.Level = elapsed > slow ? .warning : .notice
                logger.log(level: level, elapsed > slow ? "sql.slow" : "sql.debug", metadata: [
                    "sql": "\(sql)", "duration_ms": "\(elapsed.wholeMilliseconds)",
                ])
            }
        }
        return try await run()
    }
}

extension PostgresClient {
    /// `query`, counted, timed and logged as `SQLLog` says.
    @discardableResult
    public func run(_ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        try await SQLLog.observe(query.sql, query, logger) {
            try await DatabaseRouting.run(query.sql, on: self, logger: logger) { client in
                try await QueryDeadline.answer(query.sql) { try await client.query(query, logger: logger, file: file, line: line) }
            }
        }
    }

    /// A prepared statement, counted, timed and logged as `SQLLog` says. Each connection
    /// parses it once and PostgreSQL may reuse its plan: for the queries of every page view,
    /// where parsing and planning cost more than running.
    public func run<Statement: PostgresPreparedStatement>(
        _ statement: Statement, logger: Logger, file: String = #fileID, line: Int = #line
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Statement.Row> {
        try await SQLLog.observe(Statement.sql, PostgresQuery(unsafeSQL: Statement.sql, binds: try statement.makeBindings()), logger) {
            try await DatabaseRouting.run(Statement.sql, on: self, logger: logger) { client in
                try await QueryDeadline.answer(Statement.sql) { try await client.execute(statement, logger: logger, file: file, line: line) }
            }
        }
    }
}

extension PostgresConnection {
    /// `query`, counted, timed and logged as `SQLLog` says.
    @discardableResult
    public func run(_ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        try await SQLLog.observe(query.sql, query, logger) {
            try await QueryDeadline.answer(query.sql) { try await self.query(query, logger: logger, file: file, line: line) }
        }
    }
}
