import CairnDatabase
import CairnTestSupport
import PostgresNIO
import Testing

@Suite(.timeLimit(.minutes(5))) struct MigratorTests {
    @Test(arguments: Schema.allCases)
    func test_migrateAppliesEveryMigrationOnceAndRecordsIt(schema: Schema) async throws {
        try await withTestDatabase(schema, migrated: false) { client, _ in
            let migrator = Migrator(client: client, schema: schema, logger: TestEnvironment.logger)
            #expect(try await migrator.currentVersion() == 0)
            #expect(try await migrator.migrate() == schema.migrations.map(\.version))
            #expect(try await migrator.migrate() == [])
            #expect(try await migrator.currentVersion() == schema.requiredVersion)
            let rows = try await client.query("SELECT count(*)::int8 FROM schema_migrations", logger: TestEnvironment.logger)
            for try await count in rows.decode(Int.self) { #expect(count == schema.migrations.count) }
        }
    }

    @Test func test_concurrentMigratorsApplyEachMigrationOnce() async throws {
        try await withTestDatabase(.main, migrated: false) { client, _ in
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 { group.addTask { try await Migrator(client: client, schema: .main, logger: TestEnvironment.logger).migrate() } }
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            #expect(results.flatMap { $0 }.sorted() == Schema.main.migrations.map(\.version))
        }
    }

    @Test func test_olderSchemaIsRefusedWithAMessageToMigrate() async throws {
        try await withTestDatabase(.main, migrated: false) { client, _ in
            let migrator = Migrator(client: client, schema: .main, logger: TestEnvironment.logger)
            do {
                try await migrator.requireCurrent()
                Issue.record("an empty database must be refused")
            } catch let error as SchemaError {
                #expect(error.description.contains("cairnctl migrate"))
            }
            try await migrator.migrate()
            try await migrator.requireCurrent()
        }
    }

    @Test func test_databaseURLsAreParsed() {
        let configuration = DatabaseConfiguration(url: "postgres://cairn:pw@db.internal:6432/cairn")
        #expect(configuration == DatabaseConfiguration(host: "db.internal", port: 6432, username: "cairn", password: "pw", database: "cairn"))
        #expect(configuration?.redactedDescription == "postgres://cairn@db.internal:6432/cairn")
        #expect(DatabaseConfiguration(url: "postgres://host/db") == nil)
        #expect(DatabaseConfiguration(url: "mysql://u@host/db") == nil)
        #expect(DatabaseConfiguration(url: "postgres://u@host/") == nil)
    }
}
