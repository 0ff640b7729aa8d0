public import Logging
public import PostgresNIO

/// Applies a schema's numbered migrations, each in its own transaction and recorded in
/// `schema_migrations`, under an advisory lock so that two migrators never race.
public struct Migrator: Sendable {
    public let client: PostgresClient
    public let schema: Schema
    public let logger: Logger

    public init(client: PostgresClient, schema: Schema, logger: Logger) {
        self.client = client
        self.schema = schema
        self.logger = logger
    }

    /// Applies what is missing; returns the versions it applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await client.withConnection { connection in
            _ = try await connection.query("SELECT pg_advisory_lock(\(schema.lockKey))", logger: logger)
            do {
                let applied = try await applyMissing(on: connection)
                _ = try await connection.query("SELECT pg_advisory_unlock(\(schema.lockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(schema.lockKey))", logger: logger)
                throw error
            }
        }
    }

    /// The newest version applied, 0 for an empty database.
    public func currentVersion() async throws -> Int {
        try await client.withConnection { connection in
            for try await exists in try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger).decode(Bool.self) where !exists {
                return 0
            }
            let rows = try await connection.query("SELECT coalesce(max(version), 0)::int8 FROM schema_migrations", logger: logger)
            for try await version in rows.decode(Int.self) { return version }
            return 0
        }
    }

    /// Throws `SchemaError.tooOld` unless the database has every migration this build needs.
    public func requireCurrent() async throws {
        let current = try await currentVersion()
        if current < schema.requiredVersion {
            throw SchemaError.tooOld(schema: schema.rawValue, current: current, required: schema.requiredVersion)
        }
    }

    private func applyMissing(on connection: PostgresConnection) async throws -> [Int] {
        try await Self.ensureTable(on: connection, logger: logger)
        var done = Set<Int>()
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
            done.insert(version)
        }
        var applied: [Int] = []
        for migration in schema.migrations where !done.contains(migration.version) {
            logger.info("migration.apply", metadata: ["migration.schema": "\(schema.rawValue)", "migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
            do {
                _ = try await connection.query("BEGIN", logger: logger)
                for statement in migration.statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.query("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                _ = try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw MigrationError(schema: schema.rawValue, version: migration.version, name: migration.name, reason: String(reflecting: error))
            }
            applied.append(migration.version)
        }
        return applied
    }

    private static func ensureTable(on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
    }
}

/// The database's schema does not match what this build needs.
public enum SchemaError: Error, CustomStringConvertible, Equatable {
    case tooOld(schema: String, current: Int, required: Int)

    public var description: String {
        switch self {
        case .tooOld(let schema, let current, let required):
            "the \(schema) database schema is at version \(current) but this build needs \(required): run `cairnctl migrate` first"
        }
    }
}

/// A migration failed; its transaction was rolled back and nothing of it remains.
public struct MigrationError: Error, CustomStringConvertible {
    public let schema: String
    public let version: Int
    public let name: String
    public let reason: String

    public var description: String { "\(schema) migration \(version) (\(name)) failed and was rolled back: \(reason)" }
}
