import CairnDatabase
import Foundation
import Testing

/// Migrations run while the previous release still serves (README, "Deploying"): every one of
/// them must leave that release working. Additions only, unless the migration is a
/// `contract` one that drops what no code here names any more.
@Suite(.timeLimit(.minutes(5))) struct MigrationSafetyTests {
    @Test(arguments: Schema.allCases)
    func test_expandMigrationsOnlyAdd(schema: Schema) {
        for migration in schema.migrations where migration.phase == .expand {
            #expect(migration.breakingStatements.isEmpty, "\(schema) migration \(migration.version) (\(migration.name)) would break the previous release: \(migration.breakingStatements)")
        }
    }

    @Test(arguments: Schema.allCases)
    func test_contractMigrationsDropOnlyWhatNoCodeUses(schema: Schema) throws {
        let sources = try Self.swiftSources()
        let contracts = schema.migrations.filter { $0.phase == .contract }
        #expect(Self.contractProblems(contracts, sources: sources).isEmpty, "\(Self.contractProblems(contracts, sources: sources))")
        // The check itself, on this schema's own tables: dropping what the code reads is
        // flagged, dropping what nothing names is not, and a contract step must remove something.
        let (table, column) = schema == .main ? ("repository_blobs", "download_count") : ("traffic", "cloners")
        let dropsUsed = Migration(999, "drops what the code reads", phase: .contract, ["ALTER TABLE \(table) DROP COLUMN \(column)"])
        #expect(Self.contractProblems([dropsUsed], sources: sources).count == 1, "dropping \(table).\(column) must be flagged")
        let dropsUnused = Migration(999, "drops what nothing names", phase: .contract, ["DROP TABLE long_gone_pins"])
        #expect(Self.contractProblems([dropsUnused], sources: sources).isEmpty)
        let dropsNothing = Migration(999, "removes nothing", phase: .contract, ["CREATE INDEX x ON \(table) (\(column))"])
        #expect(Self.contractProblems([dropsNothing], sources: sources).count == 1)
    }

    /// What is wrong with `migrations`, all contract ones: each must remove something, and
    /// what it drops must no longer be named in `sources`.
    static func contractProblems(_ migrations: [Migration], sources: [(path: String, text: String)]) -> [String] {
        var problems: [String] = []
        for migration in migrations {
            if migration.dropped.isEmpty && migration.breakingStatements.isEmpty {
                problems.append("migration \(migration.version) is a contract one but removes nothing")
            }
            for name in migration.dropped {
                let word = name.split(separator: ".").last.map(String.init) ?? name
                let users = sources.filter { names($0.text, word) }.map(\.path)
                if !users.isEmpty { problems.append("migration \(migration.version) drops \(name), which \(users) still name") }
            }
        }
        return problems
    }

    /// The checker itself: what it must flag and what it must let through.
    @Test func test_breakingStatementsAreRecognised() {
        let breaking = [
            "ALTER TABLE users DROP COLUMN email",
            "DROP TABLE stars",
            "ALTER TABLE users RENAME COLUMN email TO mail",
            "ALTER TABLE users ALTER COLUMN email TYPE varchar(10)",
            "ALTER TABLE users ALTER COLUMN bio SET NOT NULL",
            "ALTER TABLE users ADD COLUMN bio text NOT NULL",
            "ALTER TABLE users ADD COLUMN a int DEFAULT 0, ADD COLUMN b int NOT NULL",
        ]
        let fine = [
            "ALTER TABLE users ADD COLUMN bio text",
            "ALTER TABLE users ADD COLUMN bio text NOT NULL DEFAULT ''",
            "ALTER TABLE users ADD COLUMN a int NOT NULL DEFAULT 0, ADD COLUMN b text",
            "CREATE TABLE pins (id bigserial PRIMARY KEY, name text NOT NULL)",
            "CREATE INDEX users_bio ON users (bio)",
            "DROP INDEX users_bio",
            "UPDATE users SET bio = '' WHERE bio IS NULL",
        ]
        for statement in breaking { #expect(!Migration(1, "t", [statement]).breakingStatements.isEmpty, "\(statement)") }
        for statement in fine { #expect(Migration(1, "t", [statement]).breakingStatements.isEmpty, "\(statement)") }
        #expect(Migration(1, "t", ["ALTER TABLE users DROP COLUMN bio", "DROP TABLE IF EXISTS pins"]).dropped == ["users.bio", "pins"])
    }

    /// Whether `text` names `word` as a whole identifier.
    static func names(_ text: String, _ word: String) -> Bool {
        text.contains(try! Regex("\\b\(word)\\b"))
    }

    /// The Swift files of the daemons and the shared library, migrations aside.
    static func swiftSources() throws -> [(path: String, text: String)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var found: [(String, String)] = []
        for folder in ["Services", "Shared"] {
            let base = root.appendingPathComponent(folder)
            guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where url.pathExtension == "swift" && !url.lastPathComponent.hasSuffix("Migrations.swift") {
                found.append((url.path, try String(contentsOf: url, encoding: .utf8)))
            }
        }
        #expect(found.count > 50, "the sources were not found under \(root.path)")
        return found
    }
}
