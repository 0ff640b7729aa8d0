import AsyncHTTPClient
import CairnProtocol
import CairnService
import CairnSigning
import CairnTestSupport
import Crypto
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import Testing

/// What an operator does with the real executables: make users and tokens with `cairnctl`,
/// collect and scrub blobs, see a store outage in `/readyz`, `cairnctl status` and the
/// metrics, and stop the gateway while it answers.
@Suite(.serialized, .timeLimit(.minutes(5))) struct OperatorProcessTests {
    @Test func test_usersAndTokensAreMadeFromTheCommandLine() async throws {
        let stack = try LocalStack(portBase: 18230)
        #expect(try await stack.run("cairnctl", ["migrate"]).status == 0)
        let gateway = try stack.start(.gateway)
        defer { if gateway.isRunning { kill(gateway.processIdentifier, SIGKILL) } }
        #expect(await eventually(timeout: .seconds(30)) { await stack.get(.gateway, "/readyz") == 200 }, "\(stack.log(.gateway))")

        let name = TestEnvironment.uniqueName("op")
        let created = try await stack.run("cairnctl", ["user", "create", "--username", name, "--email", "\(name)@example.com"], input: "a-long-password-1\n")
        #expect(created.status == 0 && created.output.contains("created user \(name)"), "\(created.output)")
        #expect(!created.output.contains("password:"), "a password read from standard input is not printed")
        let token = try await stack.run("cairnctl", ["token", "create", "--user", name, "--name", "ci", "--scopes", "repo:read"])
        #expect(token.status == 0, "\(token.output)")
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(stack.port(.gateway))/api/v3/user")
        request.headers.add(name: "Authorization", value: "token \(token.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status == .ok && body.contains(#""login":"\#(name)""#), "\(body)")
        // The gateway's route figures reach its metrics (read back from Redis every 15 s).
        let routeGauge = #"cairn_route_requests_5m{route="GET /api/v3/user"}"#
        #expect(await eventually(timeout: .seconds(40)) {
            guard let metrics = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(stack.port(.gateway))/metrics"), timeout: .seconds(5)),
                  let text = try? await metrics.body.collect(upTo: 4 << 20) else { return false }
            return String(buffer: text).contains(routeGauge)
        }, "no \(routeGauge) in the gateway's metrics")

        // Bad input: a clear refusal, a failing exit status, nothing made.
        for (arguments, says) in [
            (["user", "create", "--username", "../evil", "--email", "e@example.com"], "username"),
            (["user", "create", "--username", name, "--email", "again@example.com"], name),
            (["token", "create", "--user", "nobody-\(name)", "--name", "ci"], "nobody-\(name)"),
            (["token", "create", "--user", name, "--name", "ci", "--scopes", "repo:everything"], "repo:everything"),
        ] {
            let refused = try await stack.run("cairnctl", arguments, input: "a-long-password-2\n")
            #expect(refused.status != 0 && refused.output.contains(says), "\(arguments): \(refused.status) \(refused.output)")
        }
    }

    @Test func test_gcDryRunDeletesNothingAndScrubExitsOneOnADamagedBlob() async throws {
        let stack = try LocalStack(portBase: 18240)
        #expect(try await stack.run("cairnctl", ["migrate"]).status == 0)
        let blobstore = try stack.start(.blobstore)
        defer { if blobstore.isRunning { kill(blobstore.processIdentifier, SIGKILL) } }
        #expect(await eventually(timeout: .seconds(30)) { await stack.get(.blobstore, "/readyz") == 200 }, "\(stack.log(.blobstore))")
        let client = InternalClient(
            .blobstore, baseURL: "http://127.0.0.1:\(stack.port(.blobstore))",
            signature: InternalSignature(signer: try Signer(key: stack.json["signing"]!["key"]!)))
        var hashes: [String] = []
        for n in 0..<2 {
            let body = Array("operator blob \(n) \(stack.folder)\n".utf8)
            let hash = SHA256.hash(data: body).hexString
            let stored = try await client.send(.PUT, "/blobs/\(hash)", headers: ["Content-Length": String(body.count)], body: .bytes(ByteBuffer(bytes: body)))
            #expect(stored.status == .created)
            hashes.append(hash)
        }

        let clean = try await stack.run("cairnctl", ["scrub"])
        #expect(clean.status == 0 && clean.output.contains("2 blobs checked, 0 damaged"), "\(clean.output)")
        let victim = hashes[1]
        try Data("bit rot\n".utf8).write(to: URL(fileURLWithPath: "\(stack.folder)/blobs/sha256/\(victim.prefix(2))/\(victim.dropFirst(2).prefix(2))/\(victim)"))
        let damaged = try await stack.run("cairnctl", ["scrub"])
        #expect(damaged.status == 1 && damaged.output.contains("DAMAGED \(victim)"), "\(damaged.output)")

        // Neither blob is used by a repository: a dry run names both and deletes neither.
        let dry = try await stack.run("cairnctl", ["gc", "--grace-hours", "0", "--dry-run"])
        #expect(dry.status == 0, "\(dry.output)")
        for hash in hashes { #expect(dry.output.contains("would delete \(hash)"), "\(dry.output)") }
        for hash in hashes { #expect(try await client.send(.GET, "/blobs/\(hash)").status == .ok) }
        let swept = try await stack.run("cairnctl", ["gc", "--grace-hours", "0"])
        #expect(swept.status == 0 && swept.output.contains("2 unused deleted"), "\(swept.output)")
        for hash in hashes { #expect(try await client.send(.GET, "/blobs/\(hash)").status == .notFound) }
        let negative = try await stack.run("cairnctl", ["gc", "--grace-hours", "-5"])
        #expect(negative.status != 0 && negative.output.contains("--grace-hours"), "\(negative.output)")
    }

    @Test func test_aDaemonWhoseStoreIsDownIsNotReadyAndStatusExitsOne() async throws {
        let stack = try LocalStack(portBase: 18250)
        #expect(try await stack.run("cairnctl", ["migrate"]).status == 0)
        var daemons: [Daemon: Process] = [:]
        defer { for process in daemons.values where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        for daemon in Daemon.allCases {
            // The worker alone is pointed at a Redis that is not there.
            daemons[daemon] = try stack.start(daemon, environment: daemon == .worker ? ["CAIRN_REDIS_URL": "redis://127.0.0.1:1/0"] : [:])
        }
        for daemon in Daemon.allCases where daemon != .worker {
            #expect(await eventually(timeout: .seconds(30)) { await stack.get(daemon, "/readyz") == 200 }, "\(daemon.executable): \(stack.log(daemon))")
        }
        #expect(await eventually(timeout: .seconds(30)) { await stack.get(.worker, "/readyz") == 503 }, "\(stack.log(.worker))")
        let readiness = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(stack.port(.worker))/readyz"), timeout: .seconds(10))
        let report = String(buffer: try await readiness.body.collect(upTo: 1 << 20))
        #expect(report.contains(#""ready":false"#) && report.contains("redis"), "\(report)")
        #expect(daemons[.worker]?.isRunning == true, "a store outage must not stop the daemon")

        let status = try await stack.run("cairnctl", ["status"])
        #expect(status.status == 1, "\(status.output)")
        let workerLine = status.output.split(separator: "\n").first { $0.contains("cairn-worker") }.map(String.init) ?? ""
        #expect(workerLine.contains("NOT READY"), "\(status.output)")
        #expect(!(status.output.split(separator: "\n").first { $0.contains("cairn-gateway") }.map(String.init) ?? "NOT READY").contains("NOT READY"))
    }

    @Test func test_withoutRedisTheGatewayAnswersPagesAndCountsTheEventsItDrops() async throws {
        let stack = try LocalStack(portBase: 18280)
        #expect(try await stack.run("cairnctl", ["migrate"]).status == 0)
        var daemons: [Daemon: Process] = [:]
        defer { for process in daemons.values where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        daemons[.repostore] = try stack.start(.repostore)
        daemons[.gateway] = try stack.start(.gateway, environment: ["CAIRN_REDIS_URL": "redis://127.0.0.1:1/0"])
        for daemon in [Daemon.gateway, .repostore] {
            #expect(await eventually(timeout: .seconds(30)) { await stack.get(daemon, "/readyz") == 200 }, "\(stack.log(daemon))")
        }
        let (name, base) = try await Self.userWithRepository(stack, "quiet")

        let page = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/\(name)/quiet"), timeout: .seconds(30))
        #expect(page.status == .ok)
        let dropped = #"cairn_events_dropped_total{type="repo.view"}"#
        #expect(await eventually(timeout: .seconds(20)) {
            guard let metrics = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "\(base)/metrics"), timeout: .seconds(5)),
                  let text = try? await metrics.body.collect(upTo: 4 << 20) else { return false }
            return String(buffer: text).contains(dropped)
        }, "no \(dropped) in the gateway's metrics")
    }

    /// A user made with `cairnctl` and a repository of theirs with a README, made through the
    /// stack's gateway; the user's name and the gateway's base URL.
    static func userWithRepository(_ stack: LocalStack, _ repository: String) async throws -> (String, String) {
        let name = TestEnvironment.uniqueName("op")
        let user = try await stack.run("cairnctl", ["user", "create", "--username", name, "--email", "\(name)@example.com"], input: "a-long-password-1\n")
        guard user.status == 0 else { throw TestFailure("user create: \(user.output)") }
        let token = try await stack.run("cairnctl", ["token", "create", "--user", name, "--name", "ci"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let base = "http://127.0.0.1:\(stack.port(.gateway))"
        var create = HTTPClientRequest(url: base + "/api/v3/user/repos")
        create.method = .POST
        create.headers.add(name: "Authorization", value: "token \(token)")
        create.body = .bytes(ByteBuffer(string: #"{"name": "\#(repository)", "auto_init": true}"#))
        let created = try await HTTPClient.shared.execute(create, timeout: .seconds(30))
        guard created.status == .created else { throw TestFailure("creating \(repository) answered \(created.status)") }
        return (name, base)
    }

    @Test func test_theGatewayFinishesARequestInFlightWhenStoppedWithSIGTERM() async throws {
        let stack = try LocalStack(portBase: 18260)
        #expect(try await stack.run("cairnctl", ["migrate"]).status == 0)
        var daemons: [Daemon: Process] = [:]
        defer { for process in daemons.values where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        for daemon in [Daemon.gateway, .repostore] { daemons[daemon] = try stack.start(daemon) }
        for daemon in [Daemon.gateway, .repostore] {
            #expect(await eventually(timeout: .seconds(30)) { await stack.get(daemon, "/readyz") == 200 }, "\(stack.log(daemon))")
        }
        let (name, base) = try await Self.userWithRepository(stack, "drained")

        // With no worker running, an archive request waits three seconds for its build before
        // it answers 202: SIGTERM arrives in the middle of that wait.
        async let answer = HTTPClient.shared.execute(HTTPClientRequest(url: base + "/\(name)/drained/archive/main.zip"), timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(1000))
        let gateway = try #require(daemons[.gateway])
        kill(gateway.processIdentifier, SIGTERM)
        let response = try await answer
        #expect(response.status == .accepted)
        await exited(gateway)
        #expect(gateway.terminationStatus == 0, "\(stack.log(.gateway))")
        // And it took no new requests meanwhile.
        #expect(await stack.get(.gateway, "/healthz") == nil)
    }
}
