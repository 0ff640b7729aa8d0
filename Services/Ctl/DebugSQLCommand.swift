import ArgumentParser
import CairnRedis
import CairnService
import Foundation

/// `cairnctl debug-sql on --minutes 5 | off`: every daemon logs every query it runs, with its
/// duration, for a bounded time, then stops by itself.
struct DebugSQLCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-sql",
        abstract: "Log every SQL statement with its duration in every daemon for a few minutes (on --minutes N), or stop now (off).",
        discussion: "The switch expires by itself; daemons notice a change within two seconds.")

    enum State: String, ExpressibleByArgument, CaseIterable {
        case on, off, status
    }

    @OptionGroup var options: GlobalOptions
    @Argument(help: "on, off or status.") var state: State = .status
    @Option(name: .long, help: "How long to log, in minutes (1 to 60).") var minutes = 5

    mutating func execute() async throws {
        guard (1...60).contains(minutes) else { throw ValidationError("--minutes must be from 1 to 60, got \(minutes)") }
        let context = try CtlContext(options)
        let key = "\(context.configuration.redisNamespace):switch:debug-sql"
        let (state, minutes) = (state, minutes)
        let remaining = try await withRedis(context) { redis -> Int in
            switch state {
            case .on: try await redis.send("SET", key, "1", "EX", String(minutes * 60))
            case .off: try await redis.send("DEL", key)
            case .status: break
            }
            return try await redis.send("TTL", key).int ?? -2
        }
        print(remaining > 0 ? "SQL statements are logged for \(remaining) more seconds" : "SQL statements are not being logged (only slow ones)")
    }
}
