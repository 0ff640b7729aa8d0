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
