import CairnBlobStore
import CairnDatabase
import CairnGateway
import CairnProtocol
import CairnRepoStore
import CairnService
import CairnStream
import CairnTestSupport
import CairnWorker
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
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
            let forOtherPath = try environment.internalSignature.token(method: "GET", path: "/other")
            try await client.execute(uri: "/internal/anything", method: .get, headers: [header: forOtherPath]) { response in
                #expect(response.status == .unauthorized)
            }
            var tampered = try environment.internalSignature.token(method: "GET", path: "/internal/anything")
            tampered.removeLast()
            try await client.execute(uri: "/internal/anything", method: .get, headers: [header: tampered]) { response in
                #expect(response.status == .unauthorized)
            }
            // A valid signature gets through the check (to a route that does not exist).
            let valid = try environment.internalSignature.token(method: "GET", path: "/internal/anything")
            try await client.execute(uri: "/internal/anything", method: .get, headers: [header: valid]) { response in
                #expect(response.status == .notFound)
            }
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
