import Foundation

/// One numbered schema change. Migrations run before the daemons restart onto the release
/// that brings them, so each is written so that the release before it keeps working on the
/// new schema: add and backfill (`expand`), and remove what the code no longer uses only in
/// a later release (`contract`). `MigrationSafetyTests` holds every migration to that.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let phase: Phase
    /// The statements, run one by one in one transaction.
    public let statements: [String]

    /// What a migration may do to a schema the previous release is still using.
    public enum Phase: Sendable {
        /// Only additions: tables, columns that are nullable or have a default, indexes,
        /// functions, triggers, backfills.
        case expand
        /// Removals of tables and columns that neither this release nor the previous one uses.
        case contract
    }

    public init(_ version: Int, _ name: String, phase: Phase = .expand, _ statements: [String]) {
        self.version = version
        self.name = name
        self.phase = phase
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

extension Migration {
    /// The statements that would break a release still running on the schema: removals,
    /// renames, type changes, new constraints on existing columns, and new columns that
    /// the previous release's inserts could not fill (NOT NULL without a default). Only a
    /// `contract` migration may have any.
    public var breakingStatements: [String] {
        statements.filter(Self.breaks)
    }

    /// The tables and columns the statements drop, as `table` or `table.column`.
    public var dropped: [String] {
        statements.flatMap { statement -> [String] in
            let altered = statement.firstMatch(of: /(?i)\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)/).map { String($0.1).lowercased() } ?? "?"
            let tables = statement.matches(of: /(?i)\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)/).map { String($0.1).lowercased() }
            let columns = statement.matches(of: /(?i)\bDROP\s+COLUMN\s+(?:IF\s+EXISTS\s+)?(\w+)/).map { "\(altered).\(String($0.1).lowercased())" }
            return tables + columns
        }
    }

    private static func breaks(_ statement: String) -> Bool {
        let removal = /(?i)\bDROP\s+(TABLE|COLUMN|FUNCTION|TRIGGER|TYPE|VIEW)\b|\bRENAME\b|\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b|\bSET\s+NOT\s+NULL\b|\bADD\s+CONSTRAINT\b/
        if statement.contains(removal) { return true }
        // Each `ADD COLUMN` clause: NOT NULL needs a default, or older inserts fail.
        let upper = statement.uppercased()
        return upper.components(separatedBy: "ADD COLUMN").dropFirst().contains { clause in
            let column = clause.split(separator: ",", maxSplits: 1).first.map(String.init) ?? clause
            return column.contains("NOT NULL") && !column.contains("DEFAULT")
        }
    }
}
