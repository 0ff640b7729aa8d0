import CairnBlobStore
import CairnDatabase
import CairnGateway
import CairnProtocol
import CairnRepoStore
import CairnSSHD
import CairnService
import CairnStream
import CairnTestSupport
import CairnWorker
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Each daemon, built by its real builder against the test stores, answers the shared routes.
@Suite(.timeLimit(.minutes(5))) struct DaemonRouteTests {
    /// Runs `body` against `daemon` built with its own builder, its databases migrated into fresh schemas.
    func withDaemon(_ daemon: Daemon, _ body: @escaping @Sendable (any TestClientProtocol, DaemonEnvironment) async throws -> Void) async throws {
        try await withTestDatabase(.main) { _, main in
            try await withTestDatabase(.analytics) { _, analytics in
                var configuration = try TestEnvironment.configuration()
                configuration.database = main
                configuration.analytics = analytics
                let environment = try DaemonEnvironment(daemon: daemon, configuration: configuration, logger: TestEnvironment.logger)
                switch daemon {
                case .gateway: try await buildGateway(environment).test(.router) { try await body($0, environment) }
                case .repostore: try await buildRepoStore(environment).test(.router) { try await body($0, environment) }
                case .blobstore: try await buildBlobStore(environment).test(.router) { try await body($0, environment) }
                case .worker: try await buildWorker(environment).test(.router) { try await body($0, environment) }
                case .stream: try await buildStream(environment).test(.router) { try await body($0, environment) }
                case .sshd: try await buildSSHD(environment).test(.router) { try await body($0, environment) }
                }
            }
        }
    }

    @Test(arguments: Daemon.allCases)
    func test_everyDaemonAnswersHealthReadinessAndMetrics(daemon: Daemon) async throws {
        try await withDaemon(daemon) { client, _ in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                let report = try CairnJSON.decode(ReadinessReport.self, from: Data(String(buffer: response.body).utf8))
                #expect(response.status == .ok, "\(report.checks)")
                #expect(report.ready)
                #expect(report.daemon == daemon.executable)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(String(buffer: response.body).contains("cairn_build_info{daemon=\"\(daemon.executable)\"} 1"))
            }
        }
    }

    /// The gateway faces the public: what came through the proxy gets no metrics and only
    /// "ok" or "not ok" from readiness, never what a store said.
    @Test func test_theGatewaysMetricsAndReadinessDetailsAreForTheOperatorOnly() async throws {
        try await withDaemon(.gateway) { client, _ in
            let proxied: HTTPFields = [HTTPField.Name("X-Real-IP")!: "203.0.113.5"]
            try await client.execute(uri: "/metrics", method: .get, headers: proxied) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/readyz", method: .get, headers: proxied) { response in
                let report = try CairnJSON.decode(ReadinessReport.self, from: Data(String(buffer: response.body).utf8))
                #expect(report.checks.values.allSatisfy { $0 == "ok" || $0 == "not ok" })
            }
        }
    }

    @Test(arguments: Daemon.allCases.filter(\.isInternal))
    func test_internalDaemonsRefuseUnsignedAndTamperedRequests(daemon: Daemon) async throws {
        try await withDaemon(daemon) { client, environment in
            let header = HTTPField.Name(InternalHeader.signature)!
            try await client.execute(uri: "/internal/anything", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
            let signature = environment.internalSignature
            func status(_ call: InternalSignature.Call, method: HTTPRequest.Method = .get, body: String = "", headers: HTTPFields = [:]) async throws -> HTTPResponse.Status {
                var fields = headers
                fields[header] = try signature.token(for: call)
                return try await client.execute(uri: "/internal/anything", method: method, headers: fields, body: ByteBuffer(string: body)) { $0.status }
            }
            let valid = InternalSignature.Call(method: "GET", path: "/internal/anything", daemon: daemon)
            #expect(try await status(InternalSignature.Call(method: "GET", path: "/other", daemon: daemon)) == .unauthorized)
            var tampered = try signature.token(for: valid)
            tampered.removeLast()
            try await client.execute(uri: "/internal/anything", method: .get, headers: [header: tampered]) { response in
                #expect(response.status == .unauthorized)
            }
            // A token for another daemon, another user or visitor, or another body is refused.
            let elsewhere = Daemon.allCases.first { $0 != daemon }!
            #expect(try await status(InternalSignature.Call(method: "GET", path: "/internal/anything", daemon: elsewhere)) == .unauthorized)
            let user = HTTPField.Name(ForwardedHeader.user)!, visitor = HTTPField.Name(ForwardedHeader.visitor)!
            var forAda = valid
            forAda.user = "1"
            #expect(try await status(forAda, headers: [user: "2"]) == .unauthorized)
            #expect(try await status(forAda) == .unauthorized)
            var forVisitor = valid
            forVisitor.visitor = "v-1"
            #expect(try await status(forVisitor, headers: [visitor: "v-2"]) == .unauthorized)
            // Branch rules the token did not name (added, or changed) are refused; those it named pass.
            let rules = HTTPField.Name(ForwardedHeader.branchRules)!
            #expect(try await status(valid, headers: [rules: "eyJydWxlcyI6W119"]) == .unauthorized)
            var withRules = valid
            withRules.rulesHash = InternalSignature.rulesHash("eyJydWxlcyI6W119")
            #expect(try await status(withRules, headers: [rules: "e30="]) == .unauthorized)
            #expect(try await status(withRules) == .unauthorized)
            var posted = InternalSignature.Call(method: "POST", path: "/internal/anything", daemon: daemon, bodyHash: InternalSignature.bodyHash(of: ByteBuffer(string: "{\"a\":1}")))
            #expect(try await status(posted, method: .post, body: "{\"a\":2}") == .unauthorized)
            // A streamed body's token is refused where the route takes a hashed one.
            posted.bodyHash = InternalSignature.unhashedBody
            #expect(try await status(posted, method: .post, body: "{\"a\":1}") == .unauthorized)

            // A valid signature gets through the check (to a route that does not exist).
            #expect(try await status(valid) == .notFound)
            #expect(try await status(forAda, headers: [user: "1"]) == .notFound)
            #expect(try await status(forVisitor, headers: [visitor: "v-1"]) == .notFound)
            #expect(try await status(withRules, headers: [rules: "eyJydWxlcyI6W119"]) == .notFound)
            posted.bodyHash = InternalSignature.bodyHash(of: ByteBuffer(string: "{\"a\":1}"))
            #expect(try await status(posted, method: .post, body: "{\"a\":1}") == .notFound)
        }
    }

    @Test(arguments: [(Daemon.blobstore, "PUT", "/blobs/\(String(repeating: "a", count: 64))"), (.repostore, "POST", "/repos/1/git-receive-pack")])
    func test_aStreamedCallsTokenIsTakenOnceAndOnlyWhereBodiesStream(daemon: Daemon, method: String, path: String) async throws {
        try await withDaemon(daemon) { client, environment in
            let header = HTTPField.Name(InternalHeader.signature)!
            let call = InternalSignature.Call(method: method, path: path, daemon: daemon, bodyHash: InternalSignature.unhashedBody)
            let token = try environment.internalSignature.token(for: call)
            let first = try await client.execute(uri: path, method: HTTPRequest.Method(method)!, headers: [header: token], body: ByteBuffer(string: "x")) { $0.status }
            #expect(first != .unauthorized)
            let replayed = try await client.execute(uri: path, method: HTTPRequest.Method(method)!, headers: [header: token], body: ByteBuffer(string: "y")) { $0.status }
            #expect(replayed == .unauthorized)
        }
    }

    @Test func test_daemonRefusesToStartOnAnOlderSchema() async throws {
        try await withTestDatabase(.main, migrated: false) { _, main in
            var configuration = try TestEnvironment.configuration()
            configuration.database = main
            let environment = try DaemonEnvironment(daemon: .gateway, configuration: configuration, logger: TestEnvironment.logger)
            await #expect(throws: SchemaError.self) {
                try await buildGateway(environment).test(.router) { _ in }
            }
        }
    }
}
