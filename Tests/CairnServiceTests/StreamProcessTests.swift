import AsyncHTTPClient
import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
import CairnTestSupport
import Foundation
import Glibc
import NIOCore
import PostgresNIO
import Testing

/// The real `cairn-stream`, killed with SIGKILL with a batch folded but not committed (its
/// new visitors already counted in Redis), or committed before Redis heard of it, then
/// started again: every event and every visitor is counted exactly once, and its metrics
/// say so.
@Suite(.serialized, .timeLimit(.minutes(5))) struct StreamProcessTests {
    @Test(arguments: ["before-commit", "after-commit"])
    func test_killedAroundItsCommit_countsEveryEventExactlyOnceAfterRestart(pause: String) async throws {
        let stack = try LocalStack(portBase: 18220, extra: [
            "stream": ["leaseSeconds": "2", "batchSize": "400", "batchWaitMilliseconds": "20", "concurrency": "1"],
        ])
        #expect(try await stack.run("cairnctl", ["migrate"]).status == 0)
        let logger = TestEnvironment.logger
        let redis = RedisClient(configuration: TestEnvironment.redis, logger: logger)
        let analytics = PostgresClient(configuration: TestEnvironment.database(.analytics).client, backgroundLogger: logger)
        let batches = EventBatches(redis: redis, namespace: stack.json["redis"]!["namespace"]!)
        // A repository id no other test uses: the process tests share the analytics tables.
        let repository = Int64.random(in: 1_000_000_000...9_000_000_000)
        let now = Date()
        let events = try (0..<1000).map { index in
            Array(try CairnJSON.encode(EventEnvelope(type: "repo.view", repoID: repository, visitor: String(format: "%04x", index % 100), at: now)))
        }
        try await redis.send([Array("LPUSH".utf8), Array(batches.events.utf8)] + events)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await analytics.run() }
            defer { group.cancelAll() }
            func views() async throws -> (Int64, Int64) {
                let rows = try await analytics.query("SELECT views, visitors FROM traffic WHERE repo_id = \(repository) AND span = 2", logger: logger)
                for try await row in rows.decode((Int64, Int64).self) { return row }
                return (0, 0)
            }

            var stream = try stack.start(.stream, environment: ["CAIRN_STREAM_TEST_PAUSE": pause])
            #expect(await Self.paused(stack, at: pause), "\(stack.log(.stream))")
            // The first batch is in the database (after the commit) or not yet (before), and
            // still in Redis either way.
            #expect(try await views().0 == (pause == "after-commit" ? 400 : 0))
            #expect(try await batches.inFlightCount() == 1)
            kill(stream.processIdentifier, SIGKILL)
            await exited(stream)

            stream = try stack.start(.stream)
            defer { if stream.isRunning { kill(stream.processIdentifier, SIGKILL) } }
            let drained = await Self.drained(batches)
            #expect(drained, "\(stack.log(.stream))")
            let (count, visitors) = try await views()
            #expect(count == 1000)
            #expect(visitors == 100)
            #expect(stack.log(.stream).contains("stream.batch_reclaimed"))
            let metrics = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(stack.port(.stream))/metrics"), timeout: .seconds(10))
            let text = String(buffer: try await metrics.body.collect(upTo: 4 << 20))
            // After the restart this process folded the reclaimed batch (counted again only
            // if the first process had not committed it) and the rest.
            let counted = pause == "after-commit" ? 600 : 1000
            #expect(text.contains("cairn_stream_events_total \(counted)"), "\(text)")
            #expect(text.contains(#"cairn_stream_batches_total{outcome="folded"}"#) && text.contains("cairn_stream_lag_seconds"), "\(text)")
            if pause == "after-commit" { #expect(text.contains(#"cairn_stream_batches_total{outcome="already_folded"} 1"#), "\(text)") }

            let status = try await stack.run("cairnctl", ["status"])
            #expect(status.output.contains("analytics stream: 0 events waiting"), "\(status.output)")
            #expect(status.output.contains("last batch folded"), "\(status.output)")
        }
        await redis.shutdown()
    }

    static func paused(_ stack: LocalStack, at point: String) async -> Bool {
        await eventually(timeout: .seconds(30)) { stack.log(.stream).contains("stream.pause=\(point)") }
    }

    /// Whether, within 30 s, no event waits and no batch is in flight.
    static func drained(_ batches: EventBatches) async -> Bool {
        await eventually(timeout: .seconds(30)) {
            let waiting = try? await batches.waitingCount()
            let inFlight = try? await batches.inFlightCount()
            return waiting == 0 && inFlight == 0
        }
    }
}
