public import CairnDatabase
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

/// Checks at start that a database has every migration this build needs, so a daemon never
/// runs against an older schema; the error says to run `cairnctl migrate`.
public struct SchemaRequirement: Sendable {
    public let client: PostgresClient
    public let schema: Schema
    public let logger: Logger

    public init(client: PostgresClient, schema: Schema, logger: Logger) {
        self.client = client
        self.schema = schema
        self.logger = logger
    }

    public func check() async throws {
        try await Migrator(client: client, schema: schema, logger: logger).requireCurrent()
    }
}
