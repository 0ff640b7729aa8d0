import CairnDatabase
import CairnProtocol
import CairnTestSupport
import Logging
import PostgresNIO
import Synchronization
import Testing

/// The query wrapper every store uses: it counts and times queries for the request they
/// serve, logs slow ones with their SQL, and logs all of them while debug-sql is on.
@Suite(.serialized, .timeLimit(.minutes(5))) struct SQLLogTests {
    @Test func test_queriesAreCountedForTheirRequestAndSlowOnesLoggedWithTheirSQL() async throws {
        try await withTestDatabase { client, _ in
            let lines = CapturedLines()
            let logger = Logger(label: "sql-test") { _ in CapturingHandler(lines: lines) }
            // A first query opens the connection, which may take longer than the threshold.
            for try await _ in try await client.query("SELECT 0", logger: logger) {}
            SQLLog.configure(slowThreshold: .milliseconds(40))
            defer { SQLLog.configure(slowThreshold: .milliseconds(500)) }
            let timings = RequestTimings()
            try await RequestTimings.$current.withValue(timings) {
                for try await _ in try await client.run("SELECT 1", logger: logger) {}
                for try await _ in try await client.run("SELECT pg_sleep(0.08)", logger: logger) {}
            }
            #expect(timings.count(.database) == 2)
            #expect(timings.serverTiming.hasPrefix(#"db;desc="2 queries";dur="#))
            let slow = lines.all.filter { $0.message == "sql.slow" }
            // (On a loaded machine even `SELECT 1` may be slow; the sleep must be among the slow ones.)
            #expect(slow.contains { $0.sql == "SELECT pg_sleep(0.08)" && $0.level == .warning })

            // While debug-sql is on, every statement is logged; after it ends, none but slow ones.
            // (A threshold no statement here reaches, so that a loaded machine's slow `SELECT 2`
            // is not logged as slow instead.)
            SQLLog.configure(slowThreshold: .seconds(30))
            SQLLog.debug(until: .now + .seconds(30))
            for try await _ in try await client.run("SELECT 2", logger: logger) {}
            SQLLog.debug(until: nil)
            for try await _ in try await client.run("SELECT 3", logger: logger) {}
            let debug = lines.all.filter { $0.message == "sql.debug" }.map(\.sql)
            #expect(debug == ["SELECT 2"])
        }
    }

    /// A statement that cannot start (here: every connection is taken) fails its caller once
    /// the deadline passes, as one lost by a closing connection must, instead of waiting on.
    @Test(.timeLimit(.minutes(1))) func test_aStatementThatDoesNotStartAnsweringFailsAtTheDeadline() async throws {
        var configuration = TestEnvironment.database()
        configuration.poolSize = 1
        let client = PostgresClient(configuration: configuration.client, backgroundLogger: TestEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let logger = TestEnvironment.logger
            try await client.withConnection { _ in
                let started = ContinuousClock.now
                await #expect(throws: QueryDeadlineExceeded.self) {
                    try await QueryDeadline.$override.withValue(.milliseconds(300)) {
                        for try await _ in try await client.run("SELECT 1", logger: logger) {}
                    }
                }
                #expect(ContinuousClock.now - started < .seconds(5))
            }
            // The pool serves again once the connection is back.
            for try await _ in try await client.run("SELECT 1", logger: logger) {}
        }
    }
}

final class CapturedLines: Sendable {
    struct Line: Sendable {
        let level: Logger.Level
        let message: String
        let sql: String?
    }
    private let lines = Mutex<[Line]>([])
    func append(_ line: Line) { lines.withLock { $0.append(line) } }
    var all: [Line] { lines.withLock { $0 } }
}

struct CapturingHandler: LogHandler {
    let lines: CapturedLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        lines.append(.init(level: level, message: message.description, sql: metadata?["sql"].map { "\($0)" }))
    }
}
