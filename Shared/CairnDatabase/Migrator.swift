public import Logging
public import PostgresNIO
import CairnProtocol

/// Applies a schema's numbered migrations, each in its own transaction and recorded in
/// `schema_migrations`, under an advisory lock so that two migrators never race.
///
/// Migrations run while the daemons serve. A statement that needs a table lock waits at most
/// `lockTimeout` for it: waiting longer would hold up every query queued behind it (a long
/// request in the way stalls the whole site). The migration is then rolled back and tried
/// again after a pause, up to `lockAttempts` times.
public struct Migrator: Sendable {
    public let client: PostgresClient
    public let schema: Schema
    /// The schema's migrations, unless given others (tests: a release still to come).
    public let migrations: [Migration]
    public let logger: Logger
    public var lockTimeout: Duration
    public var lockAttempts: Int

    public init(
        client: PostgresClient, schema: Schema, migrations: [Migration]? = nil, logger: Logger, lockTimeout: Duration = .seconds(2), lockAttempts: Int = 30
    ) {
        self.client = client
        self.schema = schema
        self.migrations = migrations ?? schema.migrations
        self.logger = logger
        self.lockTimeout = lockTimeout
        self.lockAttempts = lockAttempts
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
                // Released even when the caller was cancelled: a session lock left on a pooled
                // connection would keep every later migrator waiting.
                let (key, logger) = (schema.lockKey, logger)
                await Task { _ = try? await connection.query("SELECT pg_advisory_unlock(\(key))", logger: logger) }.value
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
        for migration in migrations where !done.contains(migration.version) {
            logger.info("migration.apply", metadata: ["migration.schema": "\(schema.rawValue)", "migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
            for attempt in 1... {
                do {
                    try await apply(migration, on: connection)
                    break
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.lockNotAvailable && attempt < lockAttempts {
                    logger.warning("migration.lock_busy", metadata: ["migration.version": "\(migration.version)", "migration.attempt": "\(attempt)"])
                    try await Task.sleep(for: .milliseconds(min(200 * attempt, 2000)))
                } catch {
                    throw MigrationError(schema: schema.rawValue, version: migration.version, name: migration.name, reason: String(reflecting: error))
                }
            }
            applied.append(migration.version)
        }
        return applied
    }

    /// PostgreSQL's code for a lock not obtained within `lock_timeout`.
    static let lockNotAvailable = "55P03"

    /// Runs `migration` in one transaction, rolled back whole on failure.
    private func apply(_ migration: Migration, on connection: PostgresConnection) async throws {
        do {
            _ = try await connection.query("BEGIN", logger: logger)
            _ = try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL lock_timeout = '\(lockTimeout.wholeMilliseconds)ms'"), logger: logger)
            for statement in migration.statements {
                _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            _ = try await connection.query("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
            _ = try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
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
