import CairnDatabase
public import Foundation
public import Logging
public import PostgresNIO

/// How many users and repositories were created each day (UTC), for the site activity page.
public struct SiteGrowthStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Sign-ups per day since `since`, keyed by the day's midnight.
    public func newUsers(since: Date) async throws -> [Date: Int64] {
        try await perDay(client.run(
            "SELECT extract(epoch FROM date_trunc('day', created_at AT TIME ZONE 'UTC'))::int8, count(*) FROM users WHERE created_at >= \(since) GROUP BY 1",
            logger: logger))
    }

    /// Repositories created per day since `since` (deleted ones included: they were made).
    public func newRepositories(since: Date) async throws -> [Date: Int64] {
        try await perDay(client.run(
            "SELECT extract(epoch FROM date_trunc('day', created_at AT TIME ZONE 'UTC'))::int8, count(*) FROM repositories WHERE created_at >= \(since) GROUP BY 1",
            logger: logger))
    }

    private func perDay(_ rows: PostgresRowSequence) async throws -> [Date: Int64] {
        var days: [Date: Int64] = [:]
        for try await (start, count) in rows.decode((Int64, Int64).self) { days[Date(timeIntervalSince1970: Double(start))] = count }
        return days
    }
}
