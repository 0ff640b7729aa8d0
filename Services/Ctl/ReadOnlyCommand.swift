import ArgumentParser
import CairnModel
import CairnRedis
import CairnService
import Foundation

/// `cairnctl readonly on|off|status`: the site's read-only switch (see `ReadOnlySwitch`).
struct ReadOnlyCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "readonly",
        abstract: "Turn read-only mode on or off, or show it: while on, every write (forms, API writes, git push, LFS uploads) gets 503 with the message.",
        discussion: "Gateways see the change within a second; nothing restarts.")

    enum State: String, ExpressibleByArgument, CaseIterable {
        case on, off, status
    }

    @OptionGroup var options: GlobalOptions
    @Argument(help: "on, off or status.") var state: State = .status
    @Option(name: .long, help: "What users are told while it is on.") var message: String?

    mutating func execute() async throws {
        let context = try CtlContext(options)
        let (state, message) = (state, message)
        let current = try await withRedis(context) { redis in
            let readOnly = ReadOnlySwitch(redis: redis, namespace: context.configuration.redisNamespace, cacheFor: .zero)
            switch state {
            case .on: try await readOnly.turnOn(message: message)
            case .off: try await readOnly.turnOff()
            case .status: break
            }
            return try await readOnly.currentMessage()
        }
        print(current.map { "read-only mode is on: \($0)" } ?? "read-only mode is off")
    }
}
