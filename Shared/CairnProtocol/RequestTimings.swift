import Synchronization

/// What one request spent waiting on each store, for the `Server-Timing` header site admins
/// see and for query budgets in tests. A request's timings are a task-local
/// (`RequestTimings.current`) that the store clients add to; outside a request nothing is
/// recorded.
public final class RequestTimings: Sendable {
    @TaskLocal public static var current: RequestTimings?

    /// The stores a request waits on.
    public enum Store: String, CaseIterable, Sendable {
        /// Every query, on the primary or a replica.
        case database = "db"
        /// The queries of `database` that a read replica answered.
        case replica
        case redis, repostore, blobstore
    }

    private let totals = Mutex<[Store: (count: Int, time: Duration)]>([:])
    private let revealed = Atomic<Bool>(false)

    public init() {}

    public func add(_ store: Store, _ time: Duration) {
        totals.withLock { totals in
            let old = totals[store] ?? (0, .zero)
            totals[store] = (old.count + 1, old.time + time)
        }
    }

    /// Calls made to `store` so far (queries, for the database).
    public func count(_ store: Store) -> Int { totals.withLock { $0[store]?.count ?? 0 } }

    /// Marks the caller as one who may see the timings (a site admin).
    public func reveal() { revealed.store(true, ordering: .relaxed) }
    public var isRevealed: Bool { revealed.load(ordering: .relaxed) }

    /// `db;desc="3 queries";dur=1.24, redis;desc="2 calls";dur=0.31, …` (milliseconds).
    public var serverTiming: String {
        totals.withLock { totals in
            Store.allCases.compactMap { store -> String? in
                guard let (count, time) = totals[store] else { return nil }
                let milliseconds = time.milliseconds
                let noun = [.database, .replica].contains(store) ? (count == 1 ? "query" : "queries") : (count == 1 ? "call" : "calls")
                return "\(store.rawValue);desc=\"\(count) \(noun)\";dur=\((milliseconds * 100).rounded() / 100)"
            }.joined(separator: ", ")
        }
    }

    /// Runs `body`, adding its time to the current request's `store`.
    public static func measure<T>(_ store: Store, _ body: () async throws -> T) async rethrows -> T {
        guard let timings = current else { return try await body() }
        let start = ContinuousClock.now
        defer { timings.add(store, ContinuousClock.now - start) }
        return try await body()
    }
}
