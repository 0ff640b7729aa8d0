import AsyncHTTPClient
import CairnProtocol
import CairnTestSupport
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import Testing

/// The real executables, started as an operator would: migrate, run all five, ask
/// `cairnctl status`, then SIGTERM each and see it drain and exit in time.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ProcessTests {
    @Test func test_allDaemonsStartReportReadyAndStopOnSIGTERM() async throws {
        let stack = try LocalStack(portBase: 18180)
        let migrate = try await stack.run("cairnctl", ["migrate"])
        #expect(migrate.status == 0, "\(migrate.output)")
        #expect(migrate.output.contains("main"))

        let notify = try NotifySocket(path: stack.folder + "/notify.sock")
        var daemons: [Daemon: Process] = [:]
        for daemon in Daemon.allCases {
            daemons[daemon] = try stack.start(daemon, environment: daemon == .gateway ? ["NOTIFY_SOCKET": notify.path] : [:])
        }
        defer { for process in daemons.values where process.isRunning { process.terminate() } }

        for (daemon, process) in daemons {
            let up = await eventually(timeout: .seconds(30)) { await stack.get(daemon, "/readyz") == 200 || !process.isRunning }
            #expect(up && process.isRunning, "\(daemon.executable) never became ready: \(stack.log(daemon))")
        }
        #expect(notify.receive(timeout: .seconds(5))?.contains("READY=1") == true)
        #expect(await stack.get(.repostore, "/anything") == 401)

        let status = try await stack.run("cairnctl", ["status"])
        #expect(status.status == 0, "\(status.output)")
        for daemon in Daemon.allCases { #expect(status.output.contains("\(daemon.executable)")) }
        #expect(!status.output.contains("NOT READY"))
        // Other process tests share this database and may have a task in the outbox just now.
        #expect(status.output.contains("outbox backlog: "))
        #expect(status.output.contains("analytics stream: "))
        #expect(!status.output.contains("unavailable"))

        for (daemon, process) in daemons {
            let started = ContinuousClock.now
            kill(process.processIdentifier, SIGTERM)
            await exited(process)
            #expect(process.terminationStatus == 0, "\(daemon.executable): \(stack.log(daemon))")
            #expect(ContinuousClock.now - started < .seconds(10))
        }
        #expect(notify.receive(timeout: .seconds(1))?.contains("STOPPING=1") == true)
    }

    @Test func test_badConfigurationStopsTheDaemonNamingTheKey() async throws {
        let stack = try LocalStack(portBase: 18190)
        let result = try await stack.run("cairn-worker", [], environment: ["CAIRN_REDIS_URL": "not-a-url"])
        #expect(result.status == 78)
        #expect(result.output.contains("`redis.url`"))
    }
}

/// A configuration file and helpers to run the built executables against the test stores.
struct LocalStack {
    let folder: String
    let config: String
    let portBase: Int
    let bin = TestEnvironment.required("BIN")
    /// The configuration as written, by section.
    let json: [String: [String: String]]

    /// `extra` adds or overrides configuration keys, by section.
    init(portBase: Int, extra: [String: [String: String]] = [:]) throws {
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
        for (section, values) in extra { json[section, default: [:]].merge(values) { $1 } }
        try JSONEncoder().encode(json).write(to: URL(fileURLWithPath: config))
        self.json = json
    }

    func port(_ daemon: Daemon) -> Int { portBase + Daemon.allCases.firstIndex(of: daemon)! }

    func start(_ daemon: Daemon, environment: [String: String] = [:]) throws -> Process {
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
    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> (status: Int32, output: String) {
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

    func get(_ daemon: Daemon, _ path: String) async -> Int? {
        let request = HTTPClientRequest(url: "http://127.0.0.1:\(port(daemon))\(path)")
        return try? await Int(HTTPClient.shared.execute(request, timeout: .seconds(2)).status.code)
    }

    func logPath(_ daemon: Daemon) -> String { "\(folder)/\(daemon.executable).log" }
    func log(_ daemon: Daemon) -> String { (try? String(contentsOfFile: logPath(daemon), encoding: .utf8)) ?? "" }
}

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    deinit { close(fd); unlink(path) }

    /// The next message, or nil after `timeout`.
    func receive(timeout: Duration) -> String? {
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, Int32(timeout.components.seconds * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
    }
}
