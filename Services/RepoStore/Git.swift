import CairnService
import Foundation
import Logging
import Subprocess
import SystemPackage

/// The one way the repository store runs git: a fixed environment (no user or system
/// configuration, no prompts), arguments that user input never turns into options, and a
/// time limit for short commands.
struct Git: Sendable {
    /// The git executable, found on `PATH`.
    let executable: Executable = .name("git")

    /// The environment every git process gets, on top of `extra`.
    func environment(_ extra: [String: String] = [:]) -> Environment {
        var values: [Environment.Key: String?] = [
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "HOME": "/nonexistent",
            "XDG_CONFIG_HOME": nil,
            "GIT_DIR": nil,
        ]
        for (key, value) in extra { values[Environment.Key(stringLiteral: key)] = value }
        return .inherit.updating(values)
    }

    /// How long a short command may run unless its caller says otherwise.
    static let shortLimit: Duration = .seconds(60)

    /// Runs a short git command and returns its standard output; throws with its standard
    /// error when it fails, and kills it (`RepoStoreError.gitTimedOut`) once `timeLimit` passed.
    @discardableResult
    func run(
        _ arguments: [String], in directory: String? = nil, environment extra: [String: String] = [:], input: String? = nil,
        timeLimit: Duration = Git.shortLimit
    ) async throws -> String {
        let (executable, environment) = (executable, environment(extra))
        let result: (succeeded: Bool, status: String, output: String, error: String)
        do {
            result = try await withTimeLimit(timeLimit, "git \(arguments.first ?? "")") {
                let finished = try await Subprocess.run(
                    executable, arguments: Arguments(arguments), environment: environment,
                    workingDirectory: directory.map { FilePath($0) },
                    input: .string(input ?? ""),
                    output: .string(limit: 64 * 1024 * 1024), error: .string(limit: 64 * 1024))
                return (finished.terminationStatus.isSuccess, "\(finished.terminationStatus)", finished.standardOutput, finished.standardError)
            }
        } catch is TimeLimitExceeded {
            throw RepoStoreError.gitTimedOut(command: arguments.first ?? "", limit: timeLimit)
        }
        guard result.succeeded else {
            throw RepoStoreError.gitFailed(
                command: arguments.first ?? "", status: result.status, stderr: result.error.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return result.output
    }
}
