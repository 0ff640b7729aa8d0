@testable import CairnGateway
import CairnRedis
import CairnTestSupport
import Foundation
import Testing

/// Route statistics through a real Redis: counts, latency quantiles by bucket and errors
/// merged over five minutes, older minutes left out.
@Suite(.timeLimit(.minutes(5))) struct RouteStatsTests {
    @Test func test_theWindowMergesMinutesIntoCountsQuantilesAndErrors() async throws {
        try await withTestRedis { redis, namespace in
            let stats = RouteStats(redis: redis, namespace: namespace, logger: TestEnvironment.logger)
            let now = Date()
            for _ in 0..<97 { stats.record(route: "GET /{owner}/{repo}", duration: .milliseconds(3), failed: false) }
            for _ in 0..<3 { stats.record(route: "GET /{owner}/{repo}", duration: .milliseconds(700), failed: true) }
            await stats.flush(now: now.addingTimeInterval(-120))
            stats.record(route: "POST /login", duration: .milliseconds(40), failed: false)
            await stats.flush(now: now)
            // Ten minutes ago is outside the window.
            stats.record(route: "GET /old", duration: .milliseconds(1), failed: false)
            await stats.flush(now: now.addingTimeInterval(-600))

            let figures = try await stats.window(now: now)
            #expect(figures.map(\.route) == ["GET /{owner}/{repo}", "POST /login"])
            let repository = figures[0]
            #expect(repository.count == 100 && repository.errors == 3)
            #expect(repository.medianMilliseconds == 5 && repository.p99Milliseconds == 1000)
            #expect(figures[1].count == 1 && figures[1].medianMilliseconds == 50 && figures[1].errors == 0)
        }
    }
}
