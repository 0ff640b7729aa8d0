public import CairnRedis
public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// Keeps a `RedisClient` open while the daemon runs and closes it on shutdown.
/// Listed before the services that use it, so it stops after them.
public struct RedisClientService: Service {
    public let client: RedisClient

    public init(client: RedisClient) { self.client = client }

    public func run() async throws {
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
