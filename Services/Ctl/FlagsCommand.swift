import ArgumentParser
import CairnModel
import CairnRedis
import CairnService
import Foundation

/// `cairnctl flags`: lists the feature flags; `set` and `reset` change one.
struct FlagsCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "flags",
        abstract: "List the feature flags, or change one: cairnctl flags set NAME (--on | --off) [--percent N] [--users a,b]; cairnctl flags reset NAME.",
        discussion: "Gateways see a change within two seconds; nothing restarts.")

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case list, set, reset
    }

    @OptionGroup var options: GlobalOptions
    @Argument(help: "list, set or reset.") var action: Action = .list
    @Argument(help: "The flag's name.") var name: String?
    @Flag(name: .long, help: "On for everyone.") var on = false
    @Flag(name: .long, help: "Off, but for --percent and --users.") var off = false
    @Option(name: .long, help: "With --off: on for this share (0–100) of signed-in users, the same ones every time.") var percent = 0
    @Option(name: .long, help: "With --off: on for these usernames (comma-separated).") var users = ""

    mutating func execute() async throws {
        let context = try CtlContext(options)
        var flag: FeatureFlag?
        if action != .list {
            guard let name else { throw ValidationError("name the flag: one of \(FeatureFlag.all.map(\.name).joined(separator: ", "))") }
            guard let found = FeatureFlag.named(name) else { throw ValidationError("no flag named \(name): the flags are \(FeatureFlag.all.map(\.name).joined(separator: ", "))") }
            flag = found
        }
        if action == .set {
            guard on != off else { throw ValidationError("say --on or --off") }
            guard (0...100).contains(percent) else { throw ValidationError("--percent must be from 0 to 100, got \(percent)") }
        }
        let setting = FlagSetting(enabled: on, percent: percent, users: users.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        let (action, chosen) = (action, flag)
        let settings = try await withRedis(context) { redis in
            let flags = FeatureFlags(redis: redis, namespace: context.configuration.redisNamespace, cacheFor: .zero)
            switch action {
            case .list: break
            case .set: try await flags.set(chosen!, setting)
            case .reset: try await flags.reset(chosen!)
            }
            return try await flags.currentSettings()
        }
        for flag in FeatureFlag.all {
            print("\(flag.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(flag.describe(settings[flag.name]))  — \(flag.summary)")
        }
    }
}
