import ArgumentParser
import CairnModel
import CairnService
import Foundation

/// `cairnctl incident post|resolve|list`: the notes on the public status page.
struct IncidentCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident",
        abstract: "Post an incident note on the public /status page, resolve one, or list them: cairnctl incident post \"…\" [--major]; cairnctl incident resolve ID.")

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case post, resolve, list
    }

    @OptionGroup var options: GlobalOptions
    @Argument(help: "post, resolve or list.") var action: Action = .list
    @Argument(help: "The note to post, or the id to resolve.") var text: String?
    @Flag(name: .long, help: "A major incident (shown in red).") var major = false

    mutating func execute() async throws {
        let context = try CtlContext(options)
        let (action, text, level) = (action, text, major ? Incident.Level.major : .minor)
        if action != .list, text?.isEmpty ?? true { throw ValidationError(action == .post ? "say what to post" : "give the incident's id") }
        if action == .resolve, Int64(text!) == nil { throw ValidationError("the incident's id is a number, got \(text!)") }
        let output = try await withPostgres(context.configuration.database, logger: context.logger) { client -> String in
            let incidents = IncidentStore(client: client, logger: context.logger)
            switch action {
            case .post:
                return "posted incident \(try await incidents.post(text!, level: level))"
            case .resolve:
                return try await incidents.resolve(id: Int64(text!)!) ? "resolved incident \(text!)" : "no open incident \(text!)"
            case .list:
                let recent = try await incidents.recent()
                if recent.isEmpty { return "no incidents in the last seven days" }
                return recent.map { "\($0.id)  \($0.level.rawValue)  \($0.resolvedAt == nil ? "open    " : "resolved")  \($0.message)" }.joined(separator: "\n")
            }
        }
        print(output)
    }
}
