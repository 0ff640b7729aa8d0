import AsyncHTTPClient
import CairnProtocol
import CairnTestSupport
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import Testing

/// With PostgreSQL gone, the gateway answers what needs it with a clear 503 (and when to try
/// again) rather than a 500 or a hang, stays alive, and serves again as soon as PostgreSQL
/// is back, without a restart.
@Suite(.serialized, .timeLimit(.minutes(6))) struct PostgresOutageTests {
    @Test func test_requestsGet503WhilePostgresIsDownAndSucceedOnceItIsBack() async throws {
        let postgres = try PrivatePostgres()
        try await postgres.start()
        let stack = try LocalStack(portBase: 18320, extra: [
            "database": ["url": postgres.mainURL], "analytics": ["url": postgres.analyticsURL],
        ])
        var daemons: [Int32] = []
        do {
            let migrated = try await runCommand(stack.bin + "/cairnctl", ["migrate"], environment: ["CAIRN_CONFIG": stack.config])
            #expect(migrated.status == 0, "\(migrated.output)")
            for daemon in [Daemon.repostore, .gateway] {
                let process = try stack.start(daemon)
                daemons.append(process.processIdentifier)
                let up = await eventually(timeout: .seconds(30)) { await stack.get(daemon, "/healthz") == 200 }
                #expect(up, "\(daemon.executable): \(stack.log(daemon).suffix(2000))")
            }
            let base = "http://127.0.0.1:\(stack.port(.gateway))"
            #expect(try await Self.get(base + "/explore").status == 200)

            try await postgres.stopImmediately()
            for path in ["/explore", "/api/v3/users/nobody", "/nobody/nothing", "/nobody"] {
                let (status, headers, body) = try await Self.get(base + path)
                #expect(status == 503, "\(path): \(status) \(body.prefix(300))")
                #expect(headers.first(name: "Retry-After") == "5", "\(path)")
                #expect(body.contains("PostgreSQL is not answering"), "\(path): \(body.prefix(300))")
            }
            #expect(try await Self.get(base + "/healthz").status == 200)
            let ready = try await Self.get(base + "/readyz")
            #expect(ready.status == 503 && ready.body.contains("database"), "\(ready.body)")

            try await postgres.start()
            let back = await eventually(timeout: .seconds(30)) { (try? await Self.get(base + "/explore").status) == 200 }
            #expect(back, "the gateway did not serve again after PostgreSQL came back")
            #expect(!processEnded(daemons[1]), "the gateway exited: \(stack.log(.gateway).suffix(2000))")
        } catch {
            Self.stop(daemons)
            await postgres.remove()
            throw error
        }
        Self.stop(daemons)
        await postgres.remove()
    }

    private static func stop(_ daemons: [Int32]) {
        for pid in daemons { kill(pid, SIGKILL) }
    }

    private static func get(_ url: String) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(40))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), response.headers, body)
    }
}
