import ArgumentParser
import CairnDatabase
import CairnService
import Logging

/// `cairnctl migrate`: applies the main and analytics migrations this build carries.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply missing migrations to the main and analytics databases.",
        discussion: "Each migration runs in its own transaction under an advisory lock, so two migrators never race; applied versions are recorded in schema_migrations.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Only this database: main or analytics.")
    var only: String?

    func run() async throws {
        let context = try CtlContext(options)
        let schemas: [Schema]
        if let only {
            guard let schema = Schema(rawValue: only) else { throw ValidationError("--only takes main or analytics, not \(only)") }
            schemas = [schema]
        } else {
            schemas = Schema.allCases
        }
        for schema in schemas {
            let database = schema == .main ? context.configuration.database : context.configuration.analytics
            let applied = try await withPostgres(database, logger: context.logger) { client in
                try await Migrator(client: client, schema: schema, logger: context.logger).migrate()
            }
            let versions = applied.isEmpty ? "already up to date" : "applied " + applied.map(String.init).joined(separator: ", ")
            print("\(schema.rawValue) (\(database.redactedDescription)): \(versions); at version \(schema.requiredVersion)")
        }
    }
}
