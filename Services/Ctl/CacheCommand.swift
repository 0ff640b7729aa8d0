import ArgumentParser
import CairnModel
import CairnService
import Foundation

/// `cairnctl cache-bump --user NAME | --all`: retires the cached pages of a user and every
/// repository of theirs, or of the whole site, by bumping their cache versions.
struct CacheBumpCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache-bump",
        abstract: "Retire the cached pages of a user and all their repositories (--user NAME) or of everything (--all).",
        discussion: "Pages are rendered afresh on their next view; nothing else changes.")

    @OptionGroup var options: GlobalOptions
    @Option(name: .long, help: "The user whose repositories' pages to retire.") var user: String?
    @Flag(name: .long, help: "Every repository's pages.") var all = false

    mutating func execute() async throws {
        guard (user != nil) != all else { throw ValidationError("say --user NAME or --all") }
        let context = try CtlContext(options)
        let (name, all) = (user, all)
        let bumped = try await withPostgres(context.configuration.database, logger: context.logger) { client -> Int in
            let repositories = RepositoryStore(client: client, logger: context.logger)
            let users = UserStore(client: client, logger: context.logger)
            if all {
                _ = try await users.bumpAllCacheVersions()
                return try await repositories.bumpAllCacheVersions()
            }
            guard let owner = try await users.find(username: name!) else { throw CtlError("no user named \(name!)") }
            try await users.bumpCacheVersion(owner.id)
            return try await repositories.bumpCacheVersions(ownerID: owner.id)
        }
        print("retired the cached pages of \(bumped) repositor\(bumped == 1 ? "y" : "ies")")
    }
}
