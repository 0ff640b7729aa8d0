import ArgumentParser
import CairnModel
import CairnService
import Foundation

/// `cairnctl token create`: a personal access token for a user, printed once.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage personal access tokens.", subcommands: [CreateToken.self])
}

struct CreateToken: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a personal access token and print it (it is shown only this once).")

    @OptionGroup var options: GlobalOptions
    @Option(help: "Whose token it is.") var user: String
    @Option(help: "What the token is for.") var name: String
    @Option(help: "Comma-separated scopes: repo:read, repo:write, admin.") var scopes = "repo:read,repo:write"

    mutating func execute() async throws {
        let context = try CtlContext(options)
        var parsed = Set<TokenScope>()
        for scope in scopes.split(separator: ",") {
            guard let value = TokenScope(rawValue: scope.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("unknown scope \(scope): use repo:read, repo:write or admin")
            }
            parsed.insert(value)
        }
        let secret = try await withPostgres(context.configuration.database, logger: context.logger) { [user, name, parsed] client in
            guard let owner = try await UserStore(client: client, logger: context.logger).find(username: user) else {
                throw ValidationError("no user named \(user)")
            }
            do {
                return try await TokenStore(client: client, logger: context.logger).create(userID: owner.id, name: name, scopes: parsed).secret
            } catch let error as ModelError {
                throw ValidationError(error.description)
            }
        }
        print(secret)
    }
}
