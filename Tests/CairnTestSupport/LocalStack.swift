import AsyncHTTPClient
public import CairnProtocol
public import Foundation
import Glibc
import NIOCore
import NIOHTTP1

/// A configuration file and helpers to run the built executables against the test stores.
public struct LocalStack: Sendable {
    public let folder: String
    public let config: String
    public let portBase: Int
    public let bin = TestEnvironment.required("BIN")
    /// The configuration as written, by section.
    public let json: [String: [String: String]]

    /// `extra` adds or overrides configuration keys, by section.
    public init(portBase: Int, extra: [String: [String: String]] = [:]) throws {
        self.portBase = portBase
        folder = TestEnvironment.required("TMP") + "/" + TestEnvironment.uniqueName("stack")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        config = folder + "/cairn.json"
        var json: [String: [String: String]] = [
            "signing": ["key": "process-test-signing-key-0123456789abcdef"],
            "database": ["url": TestEnvironment.required("DATABASE_URL")],
            "analytics": ["url": TestEnvironment.required("ANALYTICS_URL")],
            "redis": ["url": TestEnvironment.required("REDIS_URL"), "namespace": TestEnvironment.uniqueName("proc")],
            "log": ["level": "info"],
        ]
        for (offset, daemon) in Daemon.allCases.enumerated() {
            json[daemon.rawValue] = ["host": "127.0.0.1", "port": String(portBase + offset)]
        }
        json["repostore"]?["root"] = folder + "/repos"
        json["blobstore"]?["root"] = folder + "/blobs"
        // SSH on the port after the daemons' own.
        json["sshd"]?["sshPort"] = String(portBase + Daemon.allCases.count)
        json["sshd"]?["hostKeyFile"] = folder + "/ssh/host_key"
        for (section, values) in extra { json[section, default: [:]].merge(values) { $1 } }
        try JSONEncoder().encode(json).write(to: URL(fileURLWithPath: config))
        self.json = json
    }

    public func port(_ daemon: Daemon) -> Int { portBase + Daemon.allCases.firstIndex(of: daemon)! }

    public func start(_ daemon: Daemon, environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(bin)/\(daemon.executable)")
        process.arguments = ["--config", config]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // A restarted daemon's lines follow its earlier ones: what happened before the restart stays readable.
        if !FileManager.default.fileExists(atPath: logPath(daemon)) { _ = FileManager.default.createFile(atPath: logPath(daemon), contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath(daemon)))
        try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    /// Runs one of the executables with this configuration; `input` is its standard input.
    public func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> (status: Int32, output: String) {
        let (bin, config) = (bin, config)
        return try await offThePool {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "\(bin)/\(executable)")
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(["CAIRN_CONFIG": config].merging(environment) { $1 }) { $1 }
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            let stdin = Pipe()
            process.standardInput = stdin
            try process.run()
            stdin.fileHandleForWriting.write(Data((input ?? "").utf8))
            try? stdin.fileHandleForWriting.close()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }
    }

    public func get(_ daemon: Daemon, _ path: String) async -> Int? {
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(port(daemon))\(path)")
        return try? await Int(HTTPClient.shared.execute(request, timeout: .seconds(2)).status.code)
    }

    public func logPath(_ daemon: Daemon) -> String { "\(folder)/\(daemon.executable).log" }
    public func log(_ daemon: Daemon) -> String { (try? String(contentsOfFile: logPath(daemon), encoding: .utf8)) ?? "" }
}

