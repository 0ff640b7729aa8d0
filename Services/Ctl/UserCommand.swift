import ArgumentParser
import CairnModel
import CairnService
import Foundation

/// `cairnctl user create`: makes an account from the command line (the first admin, say).
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage user accounts.", subcommands: [CreateUser.self])
}

struct CreateUser: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a user.",
        discussion: "The password is read from standard input when it is not a terminal; otherwise one is generated and printed.")

    @OptionGroup var options: GlobalOptions
    @Option(help: "Letters, digits, '-', '_' and '.', not starting with '.' or '-'.") var username: String
    @Option(help: "The user's email address.") var email: String
    @Flag(help: "Make the user a site administrator.") var admin = false

    mutating func execute() async throws {
        let context = try CtlContext(options)
        var password = ""
        var generated = false
        if isatty(STDIN_FILENO) == 0 {
            password = (readLine(strippingNewline: true) ?? "")
        }
        if password.isEmpty {
            password = Self.randomPassword()
            generated = true
        }
        let user = try await withPostgres(context.configuration.database, logger: context.logger) { [username, email, admin, password] client in
            do {
                return try await UserStore(client: client, logger: context.logger).create(username: username, email: email, password: password, isAdmin: admin)
            } catch let error as ModelError {
                throw ValidationError(error.description)
            }
        }
        print("created user \(user.username) (id \(user.id))\(user.isAdmin ? ", site administrator" : "")")
        if generated { print("password: \(password)") }
    }

    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        return String((0..<20).map { _ in alphabet.randomElement()! })
    }
}
