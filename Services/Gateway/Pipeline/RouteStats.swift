import CairnProtocol
import CairnRedis
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Rolling per-route statistics over the last five minutes, shared by every gateway through
/// Redis: each request is counted in memory under its route (`GET /{owner}/{repo}`) with its
/// latency in one of a few buckets, and once a second the counts go to a Redis hash per
/// minute (`<namespace>:routes:<minute>`, which expires after ten minutes) in one call.
/// `window()` merges the last five minutes into count, median, 99th percentile and errors.
final class RouteStats: Service, Sendable {
    let redis: RedisClient
    let namespace: String
    let logger: Logger
    private let pending = Mutex<[String: Tally]>([:])

    /// Upper bounds of the latency buckets, in milliseconds (the last one is open).
    static let bounds: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, .infinity]
    static let windowMinutes = 5

    struct Tally {
        var count = 0
        var errors = 0
        var buckets = [Int](repeating: 0, count: RouteStats.bounds.count)
    }

    init(redis: RedisClient, namespace: String, logger: Logger) {
        self.redis = redis
        self.namespace = namespace
        self.logger = logger
    }

    /// Counts one request of `route` that took `duration`; `failed` for a 5xx answer.
    func record(route: String, duration: Duration, failed: Bool) {
        let milliseconds = duration.milliseconds
        let bucket = Self.bounds.firstIndex { milliseconds <= $0 } ?? Self.bounds.count - 1
        pending.withLock { pending in
            pending[route, default: Tally()].count += 1
            pending[route, default: Tally()].buckets[bucket] += 1
            if failed { pending[route, default: Tally()].errors += 1 }
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self.flush()
            }
        }
        await flush()
    }

    /// Sends what was counted since the last flush.
    func flush(now: Date = Date()) async {
        let taken = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !taken.isEmpty else { return }
        var arguments = ["EVAL", Self.addScript, "1", key(minute: Self.minute(now))]
        for (route, tally) in taken {
            arguments += ["\(route)|n", String(tally.count)]
            if tally.errors > 0 { arguments += ["\(route)|e", String(tally.errors)] }
            for (index, count) in tally.buckets.enumerated() where count > 0 { arguments += ["\(route)|b\(index)", String(count)] }
        }
        do {
            try await redis.send(arguments)
        } catch {
            logger.warning("route_stats.dropped", metadata: ["error": "\(error)"])
        }
    }

    /// One route's figures over the window.
    struct Figures: Sendable, Equatable {
        let route: String
        let count: Int
        let errors: Int
        /// Upper bounds of the buckets holding the median and the 99th percentile, in milliseconds.
        let medianMilliseconds: Double
        let p99Milliseconds: Double
    }

    /// Every route's figures over the last `windowMinutes` minutes, busiest first.
    func window(now: Date = Date()) async throws -> [Figures] {
        var tallies: [String: Tally] = [:]
        let current = Self.minute(now)
        for minute in (current - Self.windowMinutes + 1)...current {
            for (field, text) in try await redis.send("HGETALL", key(minute: minute)).fields {
                guard let value = Int(text), let bar = field.lastIndex(of: "|") else { continue }
                let route = String(field[..<bar])
                let kind = field[field.index(after: bar)...]
                if kind == "n" { tallies[route, default: Tally()].count += value }
                else if kind == "e" { tallies[route, default: Tally()].errors += value }
                else if kind.hasPrefix("b"), let bucket = Int(kind.dropFirst()), bucket < Self.bounds.count {
                    tallies[route, default: Tally()].buckets[bucket] += value
                }
            }
        }
        return tallies.map { route, tally in
            Figures(route: route, count: tally.count, errors: tally.errors,
                    medianMilliseconds: Self.quantile(0.5, tally.buckets), p99Milliseconds: Self.quantile(0.99, tally.buckets))
        }.sorted { $0.count == $1.count ? $0.route < $1.route : $0.count > $1.count }
    }

    /// The upper bound of the bucket that holds quantile `q`.
    static func quantile(_ q: Double, _ buckets: [Int]) -> Double {
        let total = buckets.reduce(0, +)
        guard total > 0 else { return 0 }
        let rank = Int((q * Double(total)).rounded(.up))
        var seen = 0
        for (index, count) in buckets.enumerated() {
            seen += count
            if seen >= max(rank, 1) { return bounds[index] }
        }
        return bounds[bounds.count - 1]
    }

    static func minute(_ date: Date) -> Int { Int(date.timeIntervalSince1970 / 60) }

    private func key(minute: Int) -> String { "\(namespace):routes:\(minute)" }

    private static let addScript = """
        for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
        redis.call('EXPIRE', KEYS[1], 600)
        return 1
        """
}
