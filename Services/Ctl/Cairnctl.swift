public import ArgumentParser

/// `cairnctl`, the operator's command line.
@available(macOS 15, *)
public struct Cairnctl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cairnctl",
        abstract: "Operate a Cairn site: migrate its databases, see how its daemons are doing, manage users and tokens, inspect and requeue tasks, collect and scrub blobs.",
        subcommands: [MigrateCommand.self, StatusCommand.self, QueuesCommand.self, RequeueCommand.self, UserCommand.self, TokenCommand.self, GCCommand.self, ScrubCommand.self, ReadOnlyCommand.self, FlagsCommand.self, RebuildSetsCommand.self, DebugSQLCommand.self, IncidentCommand.self, CheckCommand.self, CacheBumpCommand.self])

    public init() {}
}

/// The options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (JSON); CAIRN_* environment variables override it. Default: $CAIRN_CONFIG.")
    var config: String?
}

/// A cairnctl command whose async work `main` runs.
public protocol CairnctlCommand {
    mutating func execute() async throws
}

extension MigrateCommand: CairnctlCommand {
    mutating func execute() async throws { try await run() }
}

extension StatusCommand: CairnctlCommand {
    mutating func execute() async throws { try await run() }
}
