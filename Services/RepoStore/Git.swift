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

    /// Runs a short git command and returns its standard output; throws with its standard
    /// error when it fails.
    @discardableResult
    func run(_ arguments: [String], in directory: String? = nil, environment extra: [String: String] = [:], input: String? = nil) async throws -> String {
        let result = try await Subprocess.run(
            executable, arguments: Arguments(arguments), environment: environment(extra),
            workingDirectory: directory.map { FilePath($0) },
            input: .string(input ?? ""),
            output: .string(limit: 64 * 1024 * 1024), error: .string(limit: 64 * 1024))
        guard result.terminationStatus.isSuccess else {
            throw RepoStoreError.gitFailed(
                command: arguments.first ?? "", status: "\(result.terminationStatus)",
                stderr: result.standardError.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return result.standardOutput
    }
}
