import CairnDatabase
import CairnProtocol
import CairnRedis
import Foundation
import PostgresNIO
import Synchronization

// cairn-bench stream-fill | stream-drain | stream-steady: against a running Cairn whose
// cairn-stream bench/stream stops and starts. Events go to `cairn:events` as the gateway and
// repository store publish them: 70% views (with a path), 20% clones, 5% pushes, 5%
// downloads, over 1,000 repositories and 20,000 visitors. What a run reports is read back
// from the analytics tables: the events counted there, not the events sent.

/// `count` events stamped `at`, or spread at random over the `spreadHours` hours before it,
/// the `seed`-th onwards.
func benchEvents(_ count: Int, seed: Int, at: Date, spreadHours: Int = 0) -> [[UInt8]] {
    var generator = SplitMix(seed: UInt64(seed + 1))
    return (0..<count).map { _ in
        let at = spreadHours > 0 ? at.addingTimeInterval(-Double(generator.next() % UInt64(spreadHours * 3600))) : at
        let repository = Int64(1 + generator.next() % 1000)
        let visitor = String(format: "%016llx", generator.next() % 20_000 &* 0x9E37_79B9_7F4A_7C15)
        let kind = generator.next() % 100
        let event: EventEnvelope
        switch kind {
        case 0..<70:
            let path = "/owner\(repository)/repo/blob/main/file\(generator.next() % 20).swift"
            event = EventEnvelope(type: "repo.view", repoID: repository, visitor: visitor, data: .object(["path": .string(path), "title": .string(path)]), at: at)
        case 70..<90: event = EventEnvelope(type: "repo.clone", repoID: repository, visitor: visitor, at: at)
        case 90..<95: event = EventEnvelope(type: "repo.push", repoID: repository, actor: 1, data: .object(["commits": .number(3)]), at: at)
        default: event = EventEnvelope(type: "repo.download", repoID: repository, visitor: visitor, at: at)
        }
        return Array(try! CairnJSON.encode(event))
    }
}

func benchRedis() -> (RedisClient, EventBatches) {
    let redis = RedisClient(configuration: RedisConfiguration(url: environment["CAIRN_BENCH_REDIS_URL"]!, poolSize: 4)!, logger: logger)
    return (redis, EventBatches(redis: redis, namespace: "cairn"))
}

/// Puts `--events` events on the list (the processor is stopped meanwhile).
func benchStreamFill() async throws {
    let count = option("events", 500_000)
    let (redis, batches) = benchRedis()
    var pushed = 0
    while pushed < count {
        let chunk = benchEvents(min(5000, count - pushed), seed: pushed, at: Date(), spreadHours: 24)
        try await redis.send([Array("LPUSH".utf8), Array(batches.events.utf8)] + chunk)
        pushed += chunk.count
    }
    print("stream: \(count) events waiting, stamped over the last 24 hours")
    await redis.shutdown()
}

/// Waits until nothing waits or is in flight; prints the rate since `--since` (epoch ms).
func benchStreamDrain() async throws {
    let count = option("events", 500_000)
    let since = Double(option("since", 0)) / 1000
    let (redis, batches) = benchRedis()
    try await waitUntilDrained(batches)
    let seconds = Date().timeIntervalSince1970 - since
    let dead = try await redis.send("LLEN", "cairn:events:dead").int ?? 0
    await redis.shutdown()
    let counted = try await countedEvents()
    let hours = try await countedHourBuckets()
    print(String(format: "stream: %d of %d events counted in the aggregates (%d dead letters) by one cairn-stream in %.2f s (start included): %.0f events/s, over %d hour buckets",
                 counted, count, dead, seconds, Double(counted) / seconds, hours))
    guard counted == count else { throw BenchFailure("only \(counted) of the \(count) events sent were counted") }
}

/// Every event the aggregates counted: the site-wide daily rows count each one once.
func countedEvents() async throws -> Int {
    try await analyticsCount("SELECT coalesce(sum(views + clones + pushes + downloads), 0)::int8 FROM traffic WHERE repo_id = 0 AND span = 2")
}

/// The hour buckets of repositories that hold counts.
func countedHourBuckets() async throws -> Int {
    try await analyticsCount("SELECT count(DISTINCT bucket)::int8 FROM traffic WHERE span = 1")
}

func analyticsCount(_ sql: String) async throws -> Int {
    let found = Mutex(0)
    try await withAnalytics { client in
        for try await count in try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int64.self) { found.withLock { $0 = Int(count) } }
    }
    return found.withLock { $0 }
}

/// Publishes `--rate` events a second for `--seconds`, each stamped when sent, then reports
/// the lag every batch committed in that window had (its oldest event to the start of its
/// transaction, as `processed_batches.lag_ms` records it).
func benchStreamSteady() async throws {
    let rate = option("rate", 5000)
    let duration = option("seconds", 30)
    let (redis, batches) = benchRedis()
    let before = try await countedEvents()
    let tick = 20  // ms
    let perTick = rate * tick / 1000
    let started = Date()
    let clock = ContinuousClock()
    var next = clock.now
    var sent = 0
    while Date().timeIntervalSince(started) < Double(duration) {
        let chunk = benchEvents(perTick, seed: 1_000_000 + sent, at: Date())
        try await redis.send([Array("LPUSH".utf8), Array(batches.events.utf8)] + chunk)
        sent += chunk.count
        next = next + .milliseconds(tick)
        try await Task.sleep(until: next, clock: clock)
    }
    try await waitUntilDrained(batches)
    let total = sent
    await redis.shutdown()
    let counted = try await countedEvents() - before
    guard counted == total else { throw BenchFailure("only \(counted) of the \(total) events sent were counted") }
    try await withAnalytics { client in
        var lags: [Double] = []
        for try await lag in try await client.query("SELECT lag_ms FROM processed_batches WHERE processed_at >= \(started)", logger: logger).decode(Int64.self) {
            lags.append(Double(lag))
        }
        lags.sort()
        let p99 = lags.isEmpty ? 0 : lags[min(lags.count - 1, Int(Double(lags.count) * 0.99))]
        print(String(format: "stream: steady %d events/s for %d s (%d sent, all counted): lag per batch median %.0f ms, p99 %.0f ms, max %.0f ms over %d batches",
                     rate, duration, total, median(lags), p99, lags.last ?? 0, lags.count))
    }
}

func waitUntilDrained(_ batches: EventBatches) async throws {
    while true {
        let waiting = try await batches.waitingCount()
        let inFlight = try await batches.inFlightCount()
        if waiting == 0 && inFlight == 0 { return }
        try await Task.sleep(for: .milliseconds(20))
    }
}

func withAnalytics(_ body: @Sendable @escaping (PostgresClient) async throws -> Void) async throws {
    let database = DatabaseConfiguration(url: environment["CAIRN_BENCH_ANALYTICS_URL"]!, poolSize: 2)!
    let client = PostgresClient(configuration: database.client, backgroundLogger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        try await body(client)
    }
}

/// A small, fast, seeded generator: the same events on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
