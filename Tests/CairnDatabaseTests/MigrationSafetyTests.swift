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
        for migration in schema.migrations where migration.phase == .contract {
            #expect(!migration.dropped.isEmpty || !migration.breakingStatements.isEmpty, "migration \(migration.version) is a contract one but removes nothing")
            for name in migration.dropped {
                let word = name.split(separator: ".").last.map(String.init) ?? name
                let users = sources.filter { Self.names($0.text, word) }.map(\.path)
                #expect(users.isEmpty, "migration \(migration.version) drops \(name), which \(users) still name")
            }
        }
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
