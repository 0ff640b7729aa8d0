public import Foundation
public import Logging
public import PostgresNIO

/// Reads what `cairn-stream` folded into the analytics database, for the Traffic pages and
/// API. Days are UTC. Visitor ids rotate daily, so uniques over several days are the sum
/// of each day's uniques.
public struct TrafficStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Views or clones.
    public enum Measure: Sendable { case views, clones }
    /// How `series` groups days: by day, or by week starting on Monday.
    public enum Period: String, Sendable { case day, week }

    /// One bucket of a series.
    public struct Point: Sendable, Equatable {
        public var start: Date
        public var count: Int64
        public var uniques: Int64

        public init(start: Date, count: Int64, uniques: Int64) {
            self.start = start
            self.count = count
            self.uniques = uniques
        }
    }

    /// `measure` for the `days` days up to and including today, one point per period,
    /// periods without traffic included as zeros.
    public func series(_ measure: Measure, repository: Int64, per period: Period = .day, days: Int = 14, now: Date = Date()) async throws -> [Point] {
        let first = Self.dayStart(now).addingTimeInterval(-Double(days - 1) * 86_400)
        var byDay: [Int64: (Int64, Int64)] = [:]
        let rows = try await client.query(
            measure == .views
                ? "SELECT extract(epoch FROM bucket)::int8, views, visitors FROM traffic WHERE repo_id = \(repository) AND span = 2 AND bucket >= \(first)"
                : "SELECT extract(epoch FROM bucket)::int8, clones, cloners FROM traffic WHERE repo_id = \(repository) AND span = 2 AND bucket >= \(first)",
            logger: logger)
        for try await (start, count, uniques) in rows.decode((Int64, Int64, Int64).self) { byDay[start] = (count, uniques) }
        var points: [Point] = []
        for offset in 0..<days {
            let day = first.addingTimeInterval(Double(offset) * 86_400)
            let (count, uniques) = byDay[Int64(day.timeIntervalSince1970)] ?? (0, 0)
            let start = period == .day ? day : Self.weekStart(day)
            if let last = points.last, last.start == start {
                points[points.count - 1].count += count
                points[points.count - 1].uniques += uniques
            } else {
                points.append(Point(start: start, count: count, uniques: uniques))
            }
        }
        return points
    }

    /// A path of the repository and how it was viewed.
    public struct PopularPath: Sendable, Equatable {
        public var path: String
        public var title: String
        public var count: Int64
        public var uniques: Int64
    }

    /// The most viewed paths over the last `days` days.
    public func popularPaths(repository: Int64, days: Int = 14, limit: Int = 10, now: Date = Date()) async throws -> [PopularPath] {
        let first = Self.dayStart(now).addingTimeInterval(-Double(days - 1) * 86_400)
        let rows = try await client.query(
            """
            SELECT path, (array_agg(title ORDER BY day DESC))[1], sum(views)::int8, sum(visitors)::int8
            FROM path_traffic WHERE repo_id = \(repository) AND day >= \(first)
            GROUP BY path ORDER BY 3 DESC, 4 DESC, 1 LIMIT \(limit)
            """, logger: logger)
        var paths: [PopularPath] = []
        for try await (path, title, count, uniques) in rows.decode((String, String, Int64, Int64).self) {
            paths.append(PopularPath(path: path, title: title, count: count, uniques: uniques))
        }
        return paths
    }

    /// The whole site's traffic on one day.
    public struct SiteDay: Sendable, Equatable {
        public var day: Date
        public var views: Int64 = 0
        public var visitors: Int64 = 0
        public var clones: Int64 = 0
        public var pushes: Int64 = 0
        public var commits: Int64 = 0
        public var downloads: Int64 = 0
    }

    /// Site-wide totals for the `days` days up to today, oldest first, zeros included.
    public func siteDays(days: Int = 14, now: Date = Date()) async throws -> [SiteDay] {
        let first = Self.dayStart(now).addingTimeInterval(-Double(days - 1) * 86_400)
        var found: [Int64: SiteDay] = [:]
        let rows = try await client.query(
            "SELECT extract(epoch FROM bucket)::int8, views, visitors, clones, pushes, commits, downloads FROM traffic WHERE repo_id = 0 AND span = 2 AND bucket >= \(first)",
            logger: logger)
        for try await (start, views, visitors, clones, pushes, commits, downloads) in rows.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            found[start] = SiteDay(day: Date(timeIntervalSince1970: Double(start)), views: views, visitors: visitors, clones: clones, pushes: pushes, commits: commits, downloads: downloads)
        }
        return (0..<days).map { offset in
            let day = first.addingTimeInterval(Double(offset) * 86_400)
            return found[Int64(day.timeIntervalSince1970)] ?? SiteDay(day: day)
        }
    }

    /// Midnight UTC of `date`'s day.
    public static func dayStart(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }

    /// Midnight UTC of the Monday of `date`'s week.
    public static func weekStart(_ date: Date) -> Date {
        let day = dayStart(date)
        // 1970-01-01 was a Thursday: days since then, shifted so that Monday is 0.
        let weekday = (Int(day.timeIntervalSince1970 / 86_400) + 3) % 7
        return day.addingTimeInterval(-Double(weekday) * 86_400)
    }
}
