public import CairnDatabase
public import CairnRedis
import Hummingbird
public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// The stores one daemon uses, opened from the configuration: their clients, the services
/// that keep them running, the readiness checks that probe them, and the schema checks run
/// before the daemon starts listening.
public struct DaemonStores: Sendable {
    /// Which stores a daemon needs.
    public struct Needs: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let mainDatabase = Needs(rawValue: 1)
        public static let analyticsDatabase = Needs(rawValue: 2)
        public static let redis = Needs(rawValue: 4)
        /// The main database's read replicas, when configured (with `mainDatabase`).
        public static let replicas = Needs(rawValue: 8)
    }

    public let main: PostgresClient?
    public let analytics: PostgresClient?
    public let redis: RedisClient?
    /// The main database's replicas, when the daemon reads from them and some are configured.
    public let replicaSet: ReplicaSet?
    let replicaMaxLag: Duration
    public let logger: Logger
    /// The Redis key prefix (for the debug-sql switch).
    let namespace: String
    /// Stores the daemon opens but serves without: not probed for readiness, their schema
    /// not required at start.
    public let optional: Needs
    /// Stores the daemon serves on without, in a lesser way: probed and reported by
    /// `/readyz` (as `degraded: …`), but the daemon stays ready.
    public let degradable: Needs

    /// `blockingRedisCallers` are callers that hold a Redis connection while they wait (queue
    /// consumers blocked in `BLMOVE`); the pool grows by that many so that they never starve
    /// ordinary commands. `optional` stores are opened as well (see `optional`).
    public init(_ environment: DaemonEnvironment, needs: Needs, optional: Needs = [], degradable: Needs = [], blockingRedisCallers: Int = 0) {
        let needs = needs.union(optional)
        self.optional = optional
        self.degradable = degradable
        var configuration = environment.configuration
        configuration.redis.poolSize += blockingRedisCallers
        logger = environment.logger
        namespace = configuration.redisNamespace
        SQLLog.configure(slowThreshold: configuration.slowQuery)
        main = needs.contains(.mainDatabase) ? PostgresClient(configuration: configuration.database.client, backgroundLogger: environment.logger) : nil
        analytics = needs.contains(.analyticsDatabase) ? PostgresClient(configuration: configuration.analytics.client, backgroundLogger: environment.logger) : nil
        redis = needs.contains(.redis) ? RedisClient(configuration: configuration.redis, logger: environment.logger) : nil
        replicaMaxLag = configuration.replicaMaxLag
        if let main, needs.contains(.replicas), !configuration.replicas.isEmpty {
            replicaSet = ReplicaSet(primary: main, replicas: configuration.replicas.map { PostgresClient(configuration: $0.client, backgroundLogger: environment.logger) })
        } else {
            replicaSet = nil
        }
    }

    /// Services that keep the clients running, in start order.
    public var services: [any Service] {
        var services: [any Service] = []
        if let redis { services.append(RedisClientService(client: redis)) }
        if let main { services.append(main) }
        if let analytics { services.append(analytics) }
        if let replicaSet {
            services += replicaSet.replicas as [any Service]
            services.append(ReplicaMonitorService(monitor: ReplicaMonitor(replicas: replicaSet, maxLag: replicaMaxLag, logger: logger)))
        }
        if let redis, main != nil || analytics != nil { services.append(DebugSQLWatcher(redis: redis, namespace: namespace)) }
        return services
    }

    /// One readiness check per store.
    public var checks: [ReadinessCheck] {
        var checks: [ReadinessCheck] = []
        if let main, !optional.contains(.mainDatabase) { checks.append(.postgres("database", main)) }
        if let analytics, !optional.contains(.analyticsDatabase) { checks.append(.postgres("analytics", analytics)) }
        if let redis, !optional.contains(.redis) { checks.append(degradable.contains(.redis) ? ReadinessCheck.redis(redis).optional : .redis(redis)) }
        return checks
    }

    /// Throws `SchemaError.tooOld` when a database lacks a migration this build needs.
    public func requireSchemas() async throws {
        if let main, !optional.contains(.mainDatabase) { try await Migrator(client: main, schema: .main, logger: logger).requireCurrent() }
        if let analytics, !optional.contains(.analyticsDatabase) { try await Migrator(client: analytics, schema: .analytics, logger: logger).requireCurrent() }
    }
}

/// Runs the replica monitor for as long as the daemon runs.
struct ReplicaMonitorService: Service {
    let monitor: ReplicaMonitor

    func run() async throws {
        await cancelWhenGracefulShutdown { await monitor.run() }
    }
}
