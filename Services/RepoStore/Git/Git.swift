import CairnProtocol
import CairnService
import Foundation
import Logging
import Metrics
import NIOCore
import Subprocess
import Synchronization
import SystemPackage

/// The one way the repository store runs git, short commands (`run`) and streaming ones
/// (`stream`: smart HTTP, downloads) alike: a fixed environment (no user or system
/// configuration, no prompts), arguments that user input never turns into options, a time
/// limit for every command, and the same log line and metrics for each
/// (`cairn_git_commands_total` and `cairn_git_command_duration_seconds`, by command and
/// outcome).
struct Git: Sendable {
    /// The git executable, found on `PATH`.
    let executable: Executable = .name("git")
    var logger = Logger(label: "cairn.git")

    /// How long a short command may run unless its caller says otherwise.
    static let shortLimit: Duration = .seconds(60)
    /// How long a streamed command may run: a clone or push of a large repository over a
    /// slow link, or a large download (the gateway gives git over HTTP as long).
    static let streamLimit: Duration = .seconds(6 * 3600)

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

    /// Each git runs in a session of its own, and is stopped with the processes it started
    /// (upload-pack, pack-objects, receive-pack and its hooks), which hold its output open:
    /// a kill of git alone would leave them writing. They get SIGTERM first, on which git
    /// removes its lock files and quarantine, and SIGKILL `stopGrace` later.
    static var platformOptions: PlatformOptions {
        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [.send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: stopGrace)]
        return options
    }

    /// How long git has to clean up after SIGTERM before it is killed.
    static let stopGrace: Duration = .seconds(5)

    /// Runs a short git command and returns its standard output; throws with its standard
    /// error when it fails, and kills it (`RepoStoreError.gitTimedOut`) once `timeLimit` passed.
    @discardableResult
    func run(
        _ arguments: [String], in directory: String? = nil, environment extra: [String: String] = [:], input: String? = nil,
        timeLimit: Duration = Git.shortLimit
    ) async throws -> String {
        let result = try await attempt(arguments, in: directory, environment: extra, input: input, timeLimit: timeLimit)
        guard result.succeeded else {
            throw RepoStoreError.gitFailed(command: arguments.first ?? "", status: result.status, stderr: result.error)
        }
        return result.output
    }

    /// `run` for a command whose failure is an answer (`merge-tree` exits 1 on a conflict):
    /// how it ended, its standard output and its standard error, trimmed.
    func attempt(
        _ arguments: [String], in directory: String? = nil, environment extra: [String: String] = [:], input: String? = nil,
        timeLimit: Duration = Git.shortLimit
    ) async throws -> (succeeded: Bool, status: String, output: String, error: String) {
        let (executable, environment) = (executable, environment(extra))
        let started = ContinuousClock.now
        let result: (succeeded: Bool, status: String, output: String, error: String)
        do {
            result = try await withTimeLimit(timeLimit, "git \(arguments.first ?? "")") {
                let finished = try await Subprocess.run(
                    executable, arguments: Arguments(arguments), environment: environment,
                    workingDirectory: directory.map { FilePath($0) }, platformOptions: Self.platformOptions,
                    input: .string(input ?? ""),
                    output: .bytes(limit: 64 * 1024 * 1024), error: .string(limit: 64 * 1024))
                // Decoded here: Subprocess's `.string` decodes through a generic lazy map,
                // 0.2 s for the 1.2 MB listing of a 10,000-file commit.
                return (finished.terminationStatus.isSuccess, "\(finished.terminationStatus)", String(decoding: finished.standardOutput, as: UTF8.self), finished.standardError)
            }
        } catch is TimeLimitExceeded {
            throw stopped(arguments, since: started, limit: timeLimit)
        }
        let stderr = result.error.trimmingCharacters(in: .whitespacesAndNewlines)
        record(arguments, result.succeeded ? .succeeded : .failed, since: started, status: result.status, stderr: stderr)
        return (result.succeeded, result.status, result.output, stderr)
    }

    /// The first `limit` bytes (or a little more) of a command's standard output, and whether
    /// there was more: git is stopped once they are in hand (its output closed under it), so
    /// a diff of hundreds of megabytes costs what the caller reads, not what git could write.
    func output(_ arguments: [String], in directory: String? = nil, upTo limit: Int, timeLimit: Duration = Git.shortLimit) async throws -> (text: String, cut: Bool) {
        let collected = Mutex((bytes: ByteBuffer(), cut: false))
        let exit = try await stream(arguments, in: directory, timeLimit: timeLimit) { _, output in
            while let chunk = try await output.read(size: 1 << 16) {
                let full = collected.withLock { collected in
                    collected.bytes.writeImmutableBuffer(chunk)
                    collected.cut = collected.bytes.readableBytes > limit
                    return collected.cut
                }
                if full {
                    output.close()  // git's next write fails and it ends
                    return
                }
            }
        }
        let (bytes, cut) = collected.withLock { ($0.bytes, $0.cut) }
        guard exit.succeeded || cut else {
            throw RepoStoreError.gitFailed(command: arguments.first ?? "", status: exit.status, stderr: exit.stderr)
        }
        return (String(decoding: bytes.readableBytesView, as: UTF8.self), cut)
    }

    /// How a streamed command ended.
    struct Exit: Sendable {
        let succeeded: Bool
        /// The termination status, as text (`exited(128)`).
        let status: String
        /// The first 64 KiB of what git wrote to standard error.
        let stderr: String
    }

    /// Runs a git command whose standard input and output are streams: `exchange` gets
    /// Cairn's ends of both pipes and moves the bytes (it closes `input` when it has nothing
    /// more to write; a command that reads nothing gets it closed at once). Once `timeLimit`
    /// has passed git is stopped with what it started (see `platformOptions`), so its output
    /// ends, and the call throws `RepoStoreError.gitTimedOut`; if `exchange` throws, git is
    /// stopped too. A failing git is
    /// returned in `Exit`, for the caller to decide: the answer may already be under way.
    func stream(
        _ arguments: [String], in directory: String? = nil, environment extra: [String: String] = [:],
        readsInput: Bool = false, timeLimit: Duration = Git.streamLimit,
        exchange: (_ input: PolledPipe, _ output: PolledPipe) async throws -> Void
    ) async throws -> Exit {
        let started = ContinuousClock.now
        let (input, inputForGit) = try PolledPipe.open(.toChild)
        defer { input.close() }
        let (output, outputForGit) = try PolledPipe.open(.fromChild)
        defer { output.close() }
        if !readsInput { input.close() }
        let timedOut = Flag()
        var ended: (succeeded: Bool, status: String, stderr: String)?
        do {
            let result = try await Subprocess.run(
                executable, arguments: Arguments(arguments), environment: environment(extra), workingDirectory: directory.map { FilePath($0) },
                platformOptions: Self.platformOptions, input: .fileDescriptor(inputForGit, closeAfterSpawningProcess: true),
                output: .fileDescriptor(outputForGit, closeAfterSpawningProcess: true), error: .string(limit: 64 * 1024)
            ) { execution in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        // Stopping git ends its output, which ends `exchange`'s reading.
                        try await Task.sleep(for: timeLimit)
                        timedOut.set(true)
                        try? execution.send(signal: .terminate, toProcessGroup: true)
                        try await Task.sleep(for: Self.stopGrace)
                        try? execution.send(signal: .kill, toProcessGroup: true)
                    }
                    defer { group.cancelAll() }
                    try await exchange(input, output)
                }
            }
            ended = (result.terminationStatus.isSuccess, "\(result.terminationStatus)", result.standardError)
        } catch where timedOut.value {
            // `exchange` failed on the output the stop cut short: the time limit is the cause.
        }
        guard !timedOut.value, let ended else { throw stopped(arguments, since: started, limit: timeLimit) }
        let exit = Exit(succeeded: ended.succeeded, status: ended.status, stderr: ended.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        record(arguments, exit.succeeded ? .succeeded : .failed, since: started, status: exit.status, stderr: exit.stderr)
        return exit
    }

    private enum Outcome: String { case succeeded, failed, timedOut = "timed_out" }

    /// The error of a command stopped at its time limit, recorded as such.
    private func stopped(_ arguments: [String], since started: ContinuousClock.Instant, limit: Duration) -> RepoStoreError {
        record(arguments, .timedOut, since: started, status: "killed", stderr: "")
        return .gitTimedOut(command: arguments.first ?? "", limit: limit)
    }

    /// The log line and metrics of one command. Only the subcommand is a metric dimension,
    /// so user input never makes a new time series.
    private func record(_ arguments: [String], _ outcome: Outcome, since started: ContinuousClock.Instant, status: String, stderr: String) {
        let command = arguments.first { !$0.hasPrefix("-") } ?? "git"
        let seconds = (ContinuousClock.now - started).seconds
        let dimensions = [("command", command), ("outcome", outcome.rawValue)]
        Counter(label: "cairn_git_commands_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "cairn_git_command_duration_seconds", dimensions: dimensions).recordSeconds(seconds)
        let metadata: Logger.Metadata = ["git.command": "\(command)", "git.status": "\(status)", "git.seconds": "\(seconds)"]
        switch outcome {
        case .succeeded: logger.debug("git.ran", metadata: metadata)
        case .failed: logger.debug("git.failed", metadata: metadata.merging(["git.stderr": "\(stderr.prefix(500))"]) { $1 })
        case .timedOut: logger.warning("git.timed_out", metadata: metadata)
        }
    }
}
