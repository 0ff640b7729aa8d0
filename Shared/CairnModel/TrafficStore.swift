import CairnDatabase
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

    /// Views and clones of `repository` for the `days` days up to and including today, one
    /// point per period, periods without traffic included as zeros; one query for both.
    public func series(repository: Int64, per period: Period = .day, days: Int = 14, now: Date = Date()) async throws -> (views: [Point], clones: [Point]) {
        Self.series(try await self.days(repository: repository, days: days, now: now), per: period)
    }

    /// The views and clones of `daily` (as `days` reads them), one point per period.
    public static func series(_ daily: [Day], per period: Period = .day) -> (views: [Point], clones: [Point]) {
        func points(_ count: KeyPath<Day, Int64>, _ uniques: KeyPath<Day, Int64>) -> [Point] {
            var points: [Point] = []
            for day in daily {
                let start = period == .day ? day.day : Self.weekStart(day.day)
                if let last = points.last, last.start == start {
                    points[points.count - 1].count += day[keyPath: count]
                    points[points.count - 1].uniques += day[keyPath: uniques]
                } else {
                    points.append(Point(start: start, count: day[keyPath: count], uniques: day[keyPath: uniques]))
                }
            }
            return points
        }
        return (points(\.views, \.visitors), points(\.clones, \.cloners))
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
        let rows = try await client.run(
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

    /// One day's traffic of a repository, or of the whole site.
    public struct Day: Sendable, Equatable {
        public var day: Date
        public var views: Int64 = 0
        public var visitors: Int64 = 0
        public var clones: Int64 = 0
        public var cloners: Int64 = 0
        public var pushes: Int64 = 0
        public var commits: Int64 = 0
        public var downloads: Int64 = 0
        public var pullsOpened: Int64 = 0
        public var pullsMerged: Int64 = 0
    }

    /// The daily rows of `repository` (0: the whole site) for the `days` days up to today,
    /// oldest first, days without traffic included as zeros.
    public func days(repository: Int64 = 0, days: Int = 14, now: Date = Date()) async throws -> [Day] {
        let first = Self.dayStart(now).addingTimeInterval(-Double(days - 1) * 86_400)
        var found: [Int64: Day] = [:]
        let rows = try await client.run(
            """
            SELECT extract(epoch FROM bucket)::int8, views, visitors, clones, cloners, pushes, commits, downloads, pulls_opened, pulls_merged
            FROM traffic WHERE repo_id = \(repository) AND span = 2 AND bucket >= \(first)
            """, logger: logger)
        typealias Row = (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64)
        for try await (start, views, visitors, clones, cloners, pushes, commits, downloads, opened, merged) in rows.decode(Row.self) {
            found[start] = Day(
                day: Date(timeIntervalSince1970: Double(start)), views: views, visitors: visitors, clones: clones, cloners: cloners,
                pushes: pushes, commits: commits, downloads: downloads, pullsOpened: opened, pullsMerged: merged)
        }
        return (0..<days).map { offset in
            let day = first.addingTimeInterval(Double(offset) * 86_400)
            return found[Int64(day.timeIntervalSince1970)] ?? Day(day: day)
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
