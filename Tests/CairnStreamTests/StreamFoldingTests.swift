@testable import CairnStream
import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import CairnTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// The stream processor against real Redis and PostgreSQL: known event sequences fold into
/// exactly the expected counts and uniques, across batches, across a batch taken again
/// after its taker died, and with two processors at once; malformed events are
/// dead-lettered with their reason.
@Suite(.timeLimit(.minutes(5))) struct StreamFoldingTests {
    /// 2026-11-20 10:15 UTC, and the same day's 11:05 and the next day's 09:00.
    static let tenFifteen = Date(timeIntervalSince1970: 1_795_169_700)
    static let elevenOhFive = tenFifteen.addingTimeInterval(50 * 60)
    static let nextDay = tenFifteen.addingTimeInterval(86_400 - 75 * 60)

    @Test func test_aKnownSequenceFoldsToExactCountsAndUniques_acrossBatches() async throws {
        try await withStream { stream in
            let t1 = Self.tenFifteen, t2 = Self.elevenOhFive, t3 = Self.nextDay
            try await stream.publish([
                view(7, "aa", t1, path: "/ada/tool"), view(7, "aa", t1, path: "/ada/tool"), view(7, "bb", t1, path: "/ada/tool/blob/main/README.md"),
                view(7, "aa", t2, path: "/ada/tool"), view(7, "cc", t2, path: "/ada/tool"),
                view(7, "aa", t3, path: "/ada/tool"),
                clone(7, "aa", t1), clone(7, "aa", t2), clone(7, "bb", t2),
                EventEnvelope(type: "repo.push", repoID: 7, actor: 1, data: .object(["commits": .number(3)]), at: t1),
                EventEnvelope(type: "repo.push", repoID: 7, actor: 1, data: .object(["commits": .number(2)]), at: t2),
                EventEnvelope(type: "repo.download", repoID: 7, at: t2),
                EventEnvelope(type: "pull.opened", repoID: 7, actor: 1, data: .object(["number": .number(1)]), at: t1),
                EventEnvelope(type: "pull.opened", repoID: 7, actor: 2, data: .object(["number": .number(2)]), at: t2),
                EventEnvelope(type: "pull.merged", repoID: 7, actor: 1, data: .object(["number": .number(1)]), at: t3),
                view(8, "aa", t1, path: "/ada/other"),
            ])
            // Batches of 4: uniques must hold across batches, not only inside one.
            try await stream.foldAll(batchSize: 4)

            let hour1 = try await stream.row(7, span: 1, t1), hour2 = try await stream.row(7, span: 1, t2)
            #expect(hour1 == Row(views: 3, visitors: 2, clones: 1, cloners: 1, pushes: 1, commits: 3, downloads: 0))
            #expect(hour2 == Row(views: 2, visitors: 2, clones: 2, cloners: 2, pushes: 1, commits: 2, downloads: 1))
            #expect(try await stream.row(7, span: 2, t1) == Row(views: 5, visitors: 3, clones: 3, cloners: 2, pushes: 2, commits: 5, downloads: 1))
            #expect(try await stream.row(7, span: 2, t3) == Row(views: 1, visitors: 1, clones: 0, cloners: 0, pushes: 0, commits: 0, downloads: 0))
            // The whole site that day: both repositories, visitor aa counted once.
            #expect(try await stream.row(0, span: 2, t1) == Row(views: 6, visitors: 3, clones: 3, cloners: 2, pushes: 2, commits: 5, downloads: 1))
            // Pull requests opened and merged, per repository and day, and for the whole site.
            let pulls = "SELECT pulls_opened * 100 + pulls_merged FROM traffic WHERE span = 2 AND bucket = to_timestamp"
            let dayOne = Int64(t1.timeIntervalSince1970 / 86_400) * 86_400, dayTwo = Int64(t3.timeIntervalSince1970 / 86_400) * 86_400
            #expect(try await stream.scalar("\(pulls)(\(dayOne)) AND repo_id = 7") == 200)
            #expect(try await stream.scalar("\(pulls)(\(dayTwo)) AND repo_id = 7") == 1)
            #expect(try await stream.scalar("\(pulls)(\(dayOne)) AND repo_id = 0") == 200)
            let daily = try await TrafficStore(client: stream.database, logger: TestEnvironment.logger).days(repository: 7, days: 2, now: t3)
            #expect(daily.map(\.pullsOpened) == [2, 0] && daily.map(\.pullsMerged) == [0, 1])

            let traffic = TrafficStore(client: stream.database, logger: TestEnvironment.logger)
            let views = try await traffic.series(repository: 7, days: 14, now: t3).views
            #expect(views.count == 14)
            #expect(views.suffix(2).map(\.count) == [5, 1])
            #expect(views.suffix(2).map(\.uniques) == [3, 1])
            let weeks = try await traffic.series(repository: 7, per: .week, days: 14, now: t3).views
            #expect(weeks.map(\.count).reduce(0, +) == 6)
            #expect(weeks.allSatisfy { Calendar(identifier: .gregorian).component(.weekday, from: $0.start) == 2 || $0 == weeks.first })
            let paths = try await traffic.popularPaths(repository: 7, now: t3)
            #expect(paths.map(\.path) == ["/ada/tool", "/ada/tool/blob/main/README.md"])
            #expect(paths.first.map { ($0.count, $0.uniques) } ?? (0, 0) == (5, 3))
            #expect(paths.first?.title == "title of /ada/tool")
        }
    }

    @Test func test_malformedEventsAreDeadLetteredWithTheirReason_andTheRestCounted() async throws {
        try await withStream { stream in
            let good = try CairnJSON.encode(view(7, "aa", Self.tenFifteen, path: "/ada/tool"))
            let raw: [[UInt8]] = [
                Array("not json at all".utf8),
                Array(#"{"v": 1, "id": "x", "at": "2026-11-20T10:15:00Z", "data": {}}"#.utf8),
                Array(#"{"v": 2, "id": "x", "type": "repo.view", "repo_id": 7, "at": "2026-11-20T10:15:00Z", "data": {}}"#.utf8),
                Array(#"{"v": 1, "id": "x", "type": "repo.starred", "repo_id": 7, "at": "2026-11-20T10:15:00Z", "data": {}}"#.utf8),
                Array(#"{"v": 1, "id": "x", "type": "repo.view", "at": "2026-11-20T10:15:00Z", "data": {}}"#.utf8),
                Array(#"{"v": 1, "id": "x", "type": "repo.view", "repo_id": 7, "visitor": "not-hex", "at": "2026-11-20T10:15:00Z", "data": {}}"#.utf8),
                Array(#"{"v": 1, "id": "x", "type": "repo.push", "repo_id": 7, "at": "2026-11-20T10:15:00Z", "data": {"commits": "many"}}"#.utf8),
                Array(good),
            ]
            try await stream.publish(raw: raw)
            try await stream.foldAll(batchSize: 100)
            let dead = try await stream.batches.deadLetters()
            let reasons = dead.map(\.reason).sorted()
            #expect(dead.count == 7)
            for expected in ["not an event envelope", "missing type", "unsupported envelope version 2", "unknown event type \"repo.starred\"",
                             "repo.view needs a positive repo_id", "visitor must be 1 to 16 hexadecimal digits", "data.commits"] {
                #expect(reasons.contains { $0.contains(expected) }, "no dead letter says \(expected): \(reasons)")
            }
            #expect(dead.contains { $0.event == "not json at all" })
            #expect(try await stream.row(7, span: 2, Self.tenFifteen).views == 1)
            #expect(try await stream.batches.waitingCount() == 0)
            #expect(try await stream.batches.inFlightCount() == 0)
        }
    }

    @Test func test_aLongPathIsCutToItsLimitAndStillCounted() async throws {
        try await withStream { stream in
            let long = "/ada/tool/blob/main/" + String(repeating: "é", count: 400)
            try await stream.publish([view(7, "aa", Self.tenFifteen, path: long)])
            try await stream.foldAll(batchSize: 10)
            #expect(try await stream.batches.deadCount() == 0)
            let paths = try await TrafficStore(client: stream.database, logger: TestEnvironment.logger).popularPaths(repository: 7, now: Self.tenFifteen)
            #expect(paths.map(\.path) == [long.prefix(utf8Bytes: TrafficFold.maxPathLength)])
        }
    }

    @Test func test_aBatchTakenAgainAfterItsCommitIsRecognisedAndNotCountedTwice() async throws {
        try await withStream { stream in
            try await stream.publish((0..<10).map { view(7, String(format: "%02x", $0), Self.tenFifteen) })
            // The first taker commits and dies before removing the batch from Redis.
            let processor = stream.processor(batchSize: 100)
            let first = try #require(try await stream.batches.take(limit: 100, lease: .seconds(30)))
            #expect(try await stream.writer.write(try await processor.fold(first), batchID: first.id, events: first.events.count, lagMilliseconds: 0) == .folded)
            // Within its lease nobody else takes it.
            #expect(try await stream.batches.take(limit: 100, lease: .seconds(30)) == nil)
            // After it, the next processor takes the same batch, sees it was folded, and finishes it.
            let again = try #require(try await stream.batches.take(limit: 100, lease: .seconds(30), now: Date().addingTimeInterval(31)))
            #expect(again.id == first.id && again.reclaimed && again.events == first.events)
            // Its visitors are in the sets already, yet the batch's count of new ones is the same.
            let refolded = try await processor.fold(again)
            #expect(refolded.counts.values.map(\.visitors).reduce(0, +) == 10 * 3)
            #expect(try await stream.writer.write(refolded, batchID: again.id, events: again.events.count, lagMilliseconds: 0) == .alreadyFolded)
            try await stream.batches.finish(again)
            #expect(try await stream.row(7, span: 2, Self.tenFifteen) == Row(views: 10, visitors: 10, clones: 0, cloners: 0, pushes: 0, commits: 0, downloads: 0))
            #expect(try await stream.batches.inFlightCount() == 0)
        }
    }

    @Test func test_twoProcessorsAtOnceCountEveryEventExactlyOnce() async throws {
        try await withStream { stream in
            // 12,000 views over 3 repositories by 40 visitors, interleaved.
            let events = (0..<12_000).map { index in view(Int64(1 + index % 3), String(format: "%02x", index % 40), Self.tenFifteen.addingTimeInterval(Double(index % 3600))) }
            try await stream.publish(events)
            let processors = (0..<2).map { _ in stream.processor(batchSize: 250) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for processor in processors {
                    group.addTask {
                        while try await stream.batches.waitingCount() > 0 { _ = try await processor.foldNext() }
                    }
                    group.addTask {
                        while try await stream.batches.waitingCount() > 0 { _ = try await processor.foldNext() }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await stream.batches.inFlightCount() == 0)
            for repository: Int64 in 1...3 {
                let day = try await stream.row(repository, span: 2, Self.tenFifteen)
                #expect(day.views == 4000)
                // 3 and 40 share no factor: every repository sees every visitor.
                #expect(day.visitors == 40, "repository \(repository)")
            }
            let site = try await stream.row(0, span: 2, Self.tenFifteen)
            #expect(site.views == 12_000 && site.visitors == 40)
            let batches = try await stream.scalar("SELECT count(*)::int8 FROM processed_batches")
            #expect(batches == 12_000 / 250)
        }
    }

    @Test func test_aScopeWithThousandsOfNewVisitorsInOneBatchCountsThemAll() async throws {
        try await withStream { stream in
            // More members for one set than Lua can unpack at once.
            try await stream.publish((0..<12_000).map { view(7, String(format: "%x", $0), Self.tenFifteen) })
            try await stream.foldAll(batchSize: 20_000)
            #expect(try await stream.row(7, span: 2, Self.tenFifteen).visitors == 12_000)
            #expect(try await stream.row(0, span: 2, Self.tenFifteen).visitors == 12_000)
        }
    }

    @Test func test_retentionDropsOldHourlyRowsAndKeepsDailyOnes() async throws {
        try await withStream { stream in
            let old = Date().addingTimeInterval(-40 * 86_400)
            try await stream.publish([view(7, "aa", old), view(7, "bb", Date())])
            try await stream.foldAll(batchSize: 100)
            #expect(try await stream.scalar("SELECT count(*)::int8 FROM traffic WHERE span = 1") == 2)
            try await TrafficRetention(client: stream.database, logger: TestEnvironment.logger).pruneOnce()
            #expect(try await stream.scalar("SELECT count(*)::int8 FROM traffic WHERE span = 1") == 1)
            #expect(try await stream.row(7, span: 2, old).views == 1)
        }
    }
}

struct Row: Equatable {
    var views: Int64, visitors: Int64, clones: Int64, cloners: Int64, pushes: Int64, commits: Int64, downloads: Int64
}

func view(_ repository: Int64, _ visitor: String, _ at: Date, path: String? = nil) -> EventEnvelope {
    var data: [String: JSONValue] = [:]
    if let path { data = ["path": .string(path), "title": .string("title of \(path)")] }
    return EventEnvelope(type: "repo.view", repoID: repository, visitor: visitor, data: .object(data), at: at)
}

func clone(_ repository: Int64, _ visitor: String, _ at: Date) -> EventEnvelope {
    EventEnvelope(type: "repo.clone", repoID: repository, visitor: visitor, at: at)
}

/// A fresh analytics schema and Redis namespace, with the processor's parts over them.
struct StreamHarness: Sendable {
    let database: PostgresClient
    let batches: EventBatches
    let visitors: VisitorSets
    let writer: TrafficWriter

    func processor(batchSize: Int) -> StreamProcessor {
        let settings = CairnConfiguration.StreamSettings(batchSize: batchSize, batchWait: .zero, lease: .seconds(30), concurrency: 1)
        return StreamProcessor(batches: batches, visitors: visitors, writer: writer, settings: settings, logger: TestEnvironment.logger)
    }

    func publish(_ events: [EventEnvelope]) async throws {
        try await publish(raw: try events.map { Array(try CairnJSON.encode($0)) })
    }

    func publish(raw: [[UInt8]]) async throws {
        for start in stride(from: 0, to: raw.count, by: 1000) {
            try await batches.redis.send([Array("LPUSH".utf8), Array(batches.events.utf8)] + raw[start..<min(start + 1000, raw.count)])
        }
    }

    /// Folds until nothing waits, `batchSize` events at a time.
    func foldAll(batchSize: Int) async throws {
        let processor = processor(batchSize: batchSize)
        do {
            while try await batches.waitingCount() > 0 { _ = try await processor.foldNext() }
        } catch {
            throw TestFailure("folding: \(String(reflecting: error))")
        }
    }

    /// The `traffic` row of `repository` for the hour (span 1) or day (span 2) holding `at`.
    func row(_ repository: Int64, span: Int16, _ at: Date) async throws -> Row {
        let length = span == 1 ? 3600.0 : 86_400.0
        let start = Int64((at.timeIntervalSince1970 / length).rounded(.down) * length)
        let rows = try await database.query(
            "SELECT views, visitors, clones, cloners, pushes, commits, downloads FROM traffic WHERE repo_id = \(repository) AND span = \(span) AND bucket = to_timestamp(\(start))",
            logger: TestEnvironment.logger)
        for try await (views, visitors, clones, cloners, pushes, commits, downloads) in rows.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            return Row(views: views, visitors: visitors, clones: clones, cloners: cloners, pushes: pushes, commits: commits, downloads: downloads)
        }
        return Row(views: 0, visitors: 0, clones: 0, cloners: 0, pushes: 0, commits: 0, downloads: 0)
    }

    func scalar(_ sql: String) async throws -> Int64 {
        do {
            for try await value in try await database.query(PostgresQuery(unsafeSQL: sql), logger: TestEnvironment.logger).decode(Int64.self) { return value }
        } catch {
            throw TestFailure("\(sql): \(String(reflecting: error))")
        }
        return 0
    }
}

func withStream(_ body: @escaping @Sendable (StreamHarness) async throws -> Void) async throws {
    try await withTestDatabase(.analytics) { database, _ in
        try await withTestRedis { redis, namespace in
            let batches = EventBatches(redis: redis, namespace: namespace)
            try await body(StreamHarness(
                database: database, batches: batches, visitors: VisitorSets(redis: redis, namespace: namespace),
                writer: TrafficWriter(client: database, logger: TestEnvironment.logger)))
        }
    }
}
