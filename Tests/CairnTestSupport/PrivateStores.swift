import Foundation
import Subprocess
import SystemPackage

/// Runs `executable` (a path, or a name looked up on `PATH`) in `directory` with
/// `environment` added and `input` as its standard input, awaited
/// rather than waited for; returns its exit status (-1 for a signal) and its output and errors.
public func runCommand(
    _ executable: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:], input: String = ""
) async throws -> (status: Int32, output: String) {
    let result = try await Subprocess.run(
        executable.contains("/") ? .path(FilePath(executable)) : .name(executable), arguments: Arguments(arguments),
        environment: .inherit.updating(Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), Optional($0.value)) })),
        workingDirectory: directory.map { FilePath($0) }, input: .string(input),
        output: .string(limit: 4 << 20), error: .string(limit: 4 << 20))
    let status: Int32 = if case .exited(let code) = result.terminationStatus { code } else { -1 }
    return (status, result.standardOutput + result.standardError)
}

/// Whether process `pid` has ended (gone, or a zombie nobody has reaped yet).
public func processEnded(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(after: close)...].trimmingPrefix(" ").first == "Z"
}

/// Runs `body` with a Redis of its own, started, and removed afterwards.
public func withPrivateRedis<T: Sendable>(_ body: (PrivateRedis) async throws -> T) async throws -> T {
    let redis = try PrivateRedis()
    try await redis.start()
    do {
        let result = try await body(redis)
        await redis.remove()
        return result
    } catch {
        await redis.remove()
        throw error
    }
}

/// Runs `script` in bash with `deploy/local/lib.sh`'s functions (`start_postgres`,
/// `start_redis`, `as_pg`, …), awaited rather than waited for; throws with its output when
/// it fails.
public func deployScript(_ script: String) async throws {
    let library = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/local/lib.sh").standardizedFileURL.path
    let result = try await Subprocess.run(
        .path("/bin/bash"), arguments: ["-c", "source '\(library)' && \(script)"],
        output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
    guard result.terminationStatus.isSuccess else {
        throw TestFailure("`\(script)` failed (\(result.terminationStatus)): \(result.standardOutput)\(result.standardError)")
    }
}

/// A Redis server of a test's own, which the test may kill and start again (the shared
/// test Redis must never be): on a free loopback port, its data under `folder`.
public final class PrivateRedis: Sendable {
    public let port: Int
    public let folder: String
    public var url: String { "redis://127.0.0.1:\(port)/0" }

    public init() throws {
        port = try freePort()
        folder = TestEnvironment.required("TMP") + "/" + TestEnvironment.uniqueName("redis")
    }

    public func start() async throws {
        try await deployScript("rm -f \(folder)/redis.pid; start_redis \(folder) \(port)")
    }

    /// SIGKILL, as a crash would; returns once the port no longer answers.
    public func kill() async throws {
        try await deployScript("kill -KILL $(cat \(folder)/redis.pid); while redis-cli -p \(port) ping >/dev/null 2>&1; do sleep 0.05; done")
    }

    /// Stops it and removes its data.
    public func remove() async {
        try? await deployScript("redis-cli -p \(port) shutdown nosave >/dev/null 2>&1; rm -rf \(folder)")
    }
}

/// A PostgreSQL cluster of a test's own (databases `cairn` and `cairn_analytics`), which
/// the test may stop in immediate mode and start again.
public final class PrivatePostgres: Sendable {
    public let port: Int
    public let folder: String
    public var mainURL: String { "postgres://cairn@127.0.0.1:\(port)/cairn" }
    public var analyticsURL: String { "postgres://cairn@127.0.0.1:\(port)/cairn_analytics" }

    public init() throws {
        port = try freePort()
        folder = TestEnvironment.required("TMP") + "/" + TestEnvironment.uniqueName("postgres")
    }

    public func start() async throws {
        try await deployScript("start_postgres \(folder) \(port)")
    }

    /// Stops the server the way a crash does (no checkpoint).
    public func stopImmediately() async throws {
        try await deployScript("as_pg \"$(pg_bindir)/pg_ctl\" -D \(folder) -m immediate -w stop >/dev/null")
    }

    /// Stops the server the way a crash does (no checkpoint), then starts it again.
    public func restartImmediately() async throws {
        try await deployScript("as_pg \"$(pg_bindir)/pg_ctl\" -D \(folder) -m immediate -w stop >/dev/null && start_postgres \(folder) \(port)")
    }

    /// Stops it and removes its data.
    public func remove() async {
        try? await deployScript("as_pg \"$(pg_bindir)/pg_ctl\" -D \(folder) -m immediate -w stop >/dev/null 2>&1; rm -rf \(folder)")
    }
}
