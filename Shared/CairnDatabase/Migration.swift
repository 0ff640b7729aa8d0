/// One numbered schema change. Each is written so that the release before it keeps working
/// on the new schema (add, backfill, and remove only in a later release).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// The statements, run one by one in one transaction.
    public let statements: [String]

    public init(_ version: Int, _ name: String, _ statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// The two databases Cairn keeps, each with its own numbered migrations.
public enum Schema: String, Sendable, CaseIterable {
    /// Users, repositories, tokens, webhooks, the outbox: the main database.
    case main
    /// Aggregates written by `cairn-stream` only.
    case analytics

    /// Every migration of this schema, in order.
    public var migrations: [Migration] {
        switch self {
        case .main: MainMigrations.all
        case .analytics: AnalyticsMigrations.all
        }
    }

    /// The version this build needs: its newest migration.
    public var requiredVersion: Int { migrations.last?.version ?? 0 }

    /// The key of the advisory lock that serialises migrators of this schema.
    var lockKey: Int64 { self == .main ? 0x6361_6972_6E01 : 0x6361_6972_6E02 }
}
