import AsyncHTTPClient
import CairnGateway
import CairnWorker
import CairnModel
import CairnProtocol
import CairnBlobStore
import CairnRepoStore
import CairnStream
import CairnSSHD
import CairnRedis
import CairnService
import CairnSigning
import CairnTestSupport
import Foundation
import Glibc
import NIOHTTP1
import CairnService
import CairnDatabase
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import ServiceLifecycle
import Subprocess
import SystemPackage
import Testing

/// A real gateway and repository store, listening on loopback, over a fresh database schema
/// and Redis namespace, with helpers to make users and run the real `git`.
struct CairnStack: Sendable {
    let gatewayURL: String
    let database: PostgresClient
    let analytics: PostgresClient
    let configuration: CairnConfiguration
    let folder: String
    /// The routes each daemon of the stack registered.
    let routes: [Daemon: RouteCatalog]

    /// The logger metadata key naming the stack a daemon belongs to (its Redis namespace).
    static let stackKey = "test.stack"

    /// Whether `logger` is one of this stack's daemons'.
    func owns(_ logger: Logger) -> Bool { logger[metadataKey: Self.stackKey] == "\(configuration.redisNamespace)" }

    var users: UserStore { UserStore(client: database, logger: TestEnvironment.logger) }
    var tokens: TokenStore { TokenStore(client: database, logger: TestEnvironment.logger) }
    var repositories: RepositoryStore { RepositoryStore(client: database, logger: TestEnvironment.logger) }

    /// Runs `body` with both daemons up; `repostoreUp: false` points the gateway at a closed port.
    /// `worker`, `stream` and `sshd` start those daemons too (`sshd` serving SSH on a port the
    /// system chooses, `configuration.ssh.port`).
    static func with<T: Sendable>(
        repostoreUp: Bool = true, worker: Bool = false, stream: Bool = false, sshd: Bool = false, replica: Bool = false, overrides: [String: String] = [:],
        _ body: @escaping @Sendable (CairnStack) async throws -> T
    ) async throws -> T {
        try await withTestDatabase(.main) { client, database in try await withTestDatabase(.analytics) { analyticsClient, analytics in
            let namespace = TestEnvironment.uniqueName("stack")
            let configuration = try {
                var loaded = try TestEnvironment.configuration(["CAIRN_REDIS_NAMESPACE": namespace, "CAIRN_REPOSTORE_HOST": "localhost"].merging(overrides) { $1 })
                loaded.database = database
                loaded.analytics = analytics
                if replica {
                    // The test database's streaming replica, seeing this test's schema.
                    var copy = DatabaseConfiguration(url: TestEnvironment.required("REPLICA_URL"), poolSize: 4)!
                    copy.searchPath = database.searchPath
                    loaded.replicas = [copy]
                }
                return loaded
            }()
            let folder = NSTemporaryDirectory() + TestEnvironment.uniqueName("git")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            defer { try? FileManager.default.removeItem(atPath: configuration.blobRoot) }
            let routes = Dictionary(uniqueKeysWithValues: Daemon.allCases.map { ($0, RouteCatalog()) })
            // Every log line and captured query of this stack's daemons says whose it is.
            let logger = {
                var logger = TestEnvironment.logger
                logger[metadataKey: CairnStack.stackKey] = "\(namespace)"
                return logger
            }()
            // The blob store and the repository store listen on ports the system chooses (no
            // other test can take them first); the gateway, whose links name its own address,
            // on a free port chosen beforehand; the others on ports the system chooses.
            let anyPort = {
                var copy = configuration
                for daemon in Daemon.allCases { copy.listeners[daemon] = .init(host: "127.0.0.1", port: 0) }
                return copy
            }()
            @Sendable func environment(_ daemon: Daemon, _ configuration: CairnConfiguration) throws -> DaemonEnvironment {
                try DaemonEnvironment(daemon: daemon, configuration: configuration, logger: logger, routes: routes[daemon]!)
            }
            /// Runs `cairn-sshd` when `wanted` and hands its SSH port on (nil when not wanted).
            @Sendable func withSSHD<R: Sendable>(_ wanted: Bool, repostorePort: Int, gatewayPort: Int, _ next: (Int?) async throws -> R) async throws -> R {
                guard wanted else { return try await next(nil) }
                var copy = anyPort
                copy.listeners[.repostore] = .init(host: "localhost", port: repostorePort)
                copy.publicURL = "http://127.0.0.1:\(gatewayPort)"
                copy.ssh = .init(host: "127.0.0.1", port: 0, hostKeyFile: folder + "/ssh/host_key", publicAddress: "127.0.0.1", idleLimit: configuration.ssh.idleLimit)
                let daemon = try environment(.sshd, copy)
                let sshPort = Box<Int?>(nil)
                return try await runDaemon(try await buildSSHD(daemon, onListening: { sshPort.value = $0 }), daemon) { _ in
                    guard await eventually(timeout: .seconds(30), { sshPort.value != nil }), let port = sshPort.value else {
                        throw TestFailure("cairn-sshd did not listen for SSH within 30 s")
                    }
                    return try await next(port)
                }
            }
            let blobstore = try environment(.blobstore, anyPort)
            let repostore = try environment(.repostore, anyPort)
            return try await runDaemon(try await buildBlobStore(blobstore), blobstore) { blobstorePort in
                try await runDaemon(try await buildRepoStore(repostore), repostore) { repostorePort in
                  let gatewayPort = try freePort()
                  return try await withSSHD(sshd, repostorePort: repostorePort, gatewayPort: gatewayPort) { sshPort in
                    let gatewayConfiguration = {
                        var copy = anyPort
                        if let sshPort {
                            copy.ssh.port = sshPort
                            copy.ssh.publicAddress = "127.0.0.1:\(sshPort)"
                        }
                        copy.listeners[.repostore] = .init(host: "localhost", port: repostoreUp ? repostorePort : 1)
                        copy.listeners[.blobstore] = .init(host: "127.0.0.1", port: blobstorePort)
                        copy.listeners[.gateway] = .init(host: "127.0.0.1", port: gatewayPort)
                        copy.blobPublicURL = "http://127.0.0.1:\(blobstorePort)"
                        copy.publicURL = "http://127.0.0.1:\(gatewayPort)"
                        return copy
                    }()
                    let gateway = try environment(.gateway, gatewayConfiguration)
                    return try await runDaemon(try await buildGateway(gateway), gateway) { _ in
                        let stack = CairnStack(
                            gatewayURL: gatewayConfiguration.publicURL, database: client, analytics: analyticsClient,
                            configuration: gatewayConfiguration, folder: folder, routes: routes)
                        let withStream: @Sendable () async throws -> T = {
                            guard stream else { return try await body(stack) }
                            let daemon = try environment(.stream, gatewayConfiguration)
                            return try await runDaemon(try await buildStream(daemon), daemon) { _ in try await body(stack) }
                        }
                        guard worker else { return try await withStream() }
                        let daemon = try environment(.worker, gatewayConfiguration)
                        return try await runDaemon(try await buildWorker(daemon), daemon) { _ in try await withStream() }
                    }
                  }
                }
            }
        } }
    }

    /// Runs the real `cairnctl` against this stack's stores; its status and output
    /// (Awaited, not waited for: a blocking wait would hold one of the few threads the
    /// daemons in this process need to answer the command.)
    func cairnctl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let environment: Subprocess.Environment = .custom([
            "CAIRN_SIGNING_KEY": configuration.signingKey, "CAIRN_REDIS_URL": TestEnvironment.required("REDIS_URL"),
            "CAIRN_REDIS_NAMESPACE": configuration.redisNamespace,
            "CAIRN_DATABASE_URL": TestEnvironment.required("DATABASE_URL") + (configuration.database.searchPath.map { "?search_path=\($0)" } ?? ""),
            "CAIRN_REPOSTORE_HOST": configuration.listener(.repostore).host, "CAIRN_REPOSTORE_PORT": String(configuration.listener(.repostore).port),
            "CAIRN_BLOBSTORE_HOST": configuration.listener(.blobstore).host, "CAIRN_BLOBSTORE_PORT": String(configuration.listener(.blobstore).port),
        ])
        let result = try await Subprocess.run(
            .path(FilePath(TestEnvironment.required("BIN") + "/cairnctl")), arguments: Arguments(arguments), environment: environment,
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        let status: Int32 = if case .exited(let code) = result.terminationStatus { code } else { -1 }
        return (status, result.standardOutput + result.standardError)
    }

    /// The hashes of every blob in the blob store, from its listing.
    func storedBlobs() async throws -> [String] {
        let client = InternalClient(.blobstore, baseURL: configuration.listener(.blobstore).url, signature: InternalSignature(signer: try Signer(key: configuration.signingKey)))
        return try await client.getJSON(BlobListing.self, "/blobs")?.blobs.map(\.sha256) ?? []
    }

    /// The items of Redis list `key`, oldest first.
    func redisList(_ key: String) async throws -> [String] {
        let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
        let value = try? await redis.send("LRANGE", key, "0", "-1")
        await redis.shutdown()
        guard case .array(let items)? = value else { return [] }
        return items.compactMap(\.string).reversed()
    }

    /// Waits until no background work is left: the task outbox is empty and every queue has
    /// nothing ready, delayed or taken, twice in a row 200 ms apart. What a test asserts did
    /// not happen (no mail, no delivery) is then known not to be merely late.
    func waitUntilWorkSettles(timeout: Duration = .seconds(30)) async throws {
        let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
        defer { Task { await redis.shutdown() } }
        let outbox = Outbox(client: database, redis: redis, namespace: configuration.redisNamespace, logger: TestEnvironment.logger)
        func busy() async throws -> Int {
            var count = try await outbox.backlog()
            for name in QueueName.allCases {
                let queue = ReliableQueue(redis: redis, name: name.rawValue, namespace: configuration.redisNamespace)
                count += try await queue.readyCount() + queue.delayedCount()
            }
            for key in try await redis.send("KEYS", "\(configuration.redisNamespace):processing:*").array.compactMap(\.string) {
                count += try await redis.send("LLEN", key).int ?? 0
            }
            return count
        }
        var quietChecks = 0
        let deadline = ContinuousClock.now + timeout
        while quietChecks < 2 {
            guard ContinuousClock.now < deadline else { throw TestFailure("background work did not settle within \(timeout)") }
            quietChecks = try await busy() == 0 ? quietChecks + 1 : 0
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Where repository `id` lives on disk.
    func repositoryPath(_ id: Int64) -> String { "\(configuration.repositoryRoot)/\(id).git" }

    /// A new user with a password of `password-<name>` and a token with `scopes`.
    func makeUser(_ name: String, scopes: Set<TokenScope> = [.repoRead, .repoWrite, .admin], admin: Bool = false) async throws -> TestUser {
        let user = try await users.create(username: name, email: "\(name)@example.com", password: "password-\(name)", isAdmin: admin)
        let token = try await tokens.create(userID: user.id, name: "tests", scopes: scopes).secret
        return TestUser(user: user, password: "password-\(name)", token: token)
    }

    /// Creates a repository through the API as `owner`.
    @discardableResult
    func makeRepository(_ owner: TestUser, _ name: String, isPrivate: Bool = false) async throws -> Repository {
        let (status, body) = try await api(.POST, "/api/v3/user/repos", as: owner, json: #"{"name": "\#(name)", "private": \#(isPrivate)}"#)
        guard status == 201 else { throw TestFailure("creating \(name) answered \(status): \(body)") }
        return try await repositories.find(owner: owner.user.username, name: name)!
    }

    /// An API call; returns the status and body text.
    func api(_ method: HTTPMethod, _ path: String, as user: TestUser? = nil, token: String? = nil, json: String? = nil, headers: [(String, String)] = []) async throws -> (Int, String) {
        let (status, _, body) = try await apiWithHeaders(method, path, as: user, token: token, json: json, headers: headers)
        return (status, body)
    }

    /// A JSON object from a GET that must answer 200.
    func apiJSON(_ path: String, as user: TestUser? = nil) async throws -> [String: Any] {
        let (status, body) = try await api(.GET, path, as: user)
        guard status == 200, let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw TestFailure("GET \(path) answered \(status): \(body)")
        }
        return object
    }

    func apiWithHeaders(_ method: HTTPMethod, _ path: String, as user: TestUser? = nil, token: String? = nil, json: String? = nil, headers: [(String, String)] = []) async throws -> (Int, HTTPHeaders, String) {
        var request = HTTPClientRequest(url: gatewayURL + path)
        request.method = method
        if let secret = token ?? user?.token { request.headers.add(name: "Authorization", value: "token \(secret)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 10 << 20)
        return (Int(response.status.code), response.headers, String(buffer: body))
    }

    /// A raw request with a text body; returns the status.
    @discardableResult
    func apiRaw(_ method: HTTPMethod, _ path: String, body: String, headers: [(String, String)]) async throws -> Int {
        try await rawAnswer(method, path, body: body, headers: headers).status
    }

    /// The status and body of a request with `body` as it is.
    func rawAnswer(_ method: HTTPMethod, _ path: String, body: String, headers: [(String, String)]) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: gatewayURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 10 << 20)
        return (Int(response.status.code), String(decoding: answer.readableBytesView, as: UTF8.self))
    }

    /// The clone URL of `owner/name`, with `credentials` (user:secret) when given.
    func cloneURL(_ fullName: String, credentials: String? = nil) -> String {
        let base = gatewayURL.replacingOccurrences(of: "http://", with: "")
        return "http://\(credentials.map { "\($0)@" } ?? "")\(base)/\(fullName).git"
    }

    /// Runs git; throws when it fails (or, with `expectFailure`, when it succeeds).
    @discardableResult
    func git(_ arguments: [String], in directory: String? = nil, environment extra: [String: String] = [:], expectFailure: Bool = false) async throws -> GitResult {
        let outcome = try await tryGit(arguments, in: directory, environment: extra)
        if !outcome.succeeded && !expectFailure {
            throw TestFailure("git \(arguments.joined(separator: " ")) failed: \(outcome.error)")
        }
        if outcome.succeeded && expectFailure {
            throw TestFailure("git \(arguments.joined(separator: " ")) should have failed")
        }
        return outcome
    }

    /// Runs git with a clean environment (no prompts, no helpers, no user configuration) and
    /// the variables of `extra` (`GIT_SSH_COMMAND`, say).
    func tryGit(_ arguments: [String], in directory: String? = nil, environment extra: [String: String] = [:]) async throws -> GitResult {
        var variables: [Subprocess.Environment.Key: String?] = [
            "HOME": folder, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "",
            "GIT_AUTHOR_NAME": "Ada Tester", "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Tester", "GIT_COMMITTER_EMAIL": "ada@example.com",
        ]
        for (name, value) in extra { variables[Subprocess.Environment.Key(rawValue: name)!] = value }
        let environment: Subprocess.Environment = .inherit.updating(variables)
        let workingDirectory = FilePath(directory ?? folder)
        // Every git command has a deadline well inside the tests' own: one that hangs is
        // stopped and named, rather than taking its whole test's time limit.
        return try await withTimeLimit(.seconds(120), "git \(arguments.prefix(3).joined(separator: " "))") {
            let result = try await Subprocess.run(
                .name("git"), arguments: Arguments(["-c", "credential.helper=", "-c", "init.defaultBranch=main", "-c", "protocol.version=2"] + arguments),
                environment: environment, workingDirectory: workingDirectory,
                output: .string(limit: 4 << 20), error: .string(limit: 1 << 20))
            return GitResult(succeeded: result.terminationStatus.isSuccess, output: result.standardOutput, error: result.standardError)
        }
    }

    /// A new working copy with `commits` commits on main.
    func makeWorkingCopy(_ name: String, commits: Int = 3) async throws -> String {
        let path = "\(folder)/\(name)"
        try await git(["init", "--quiet", path])
        for n in 1...commits {
            try "line \(n)\n".write(toFile: "\(path)/file\(n).txt", atomically: true, encoding: .utf8)
            try await git(["add", "."], in: path)
            try await git(["commit", "--quiet", "-m", "commit \(n)"], in: path)
        }
        return path
    }

    /// A repository of `owner` with `commits` commits pushed to `main`: the repository, its
    /// working copy and the commit at its head.
    @discardableResult
    func makePushedRepository(_ owner: TestUser, _ name: String, isPrivate: Bool = false, commits: Int = 1) async throws -> (repository: Repository, work: String, head: String) {
        let repository = try await makeRepository(owner, name, isPrivate: isPrivate)
        let work = try await makeWorkingCopy(name, commits: commits)
        try await git(["push", "--quiet", cloneURL("\(owner.user.username)/\(name)", credentials: owner.tokenCredentials), "main"], in: work)
        let head = try await git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
        return (repository, work, head)
    }

    /// A repository of `owner` whose one commit holds 48 MiB of random bytes: incompressible,
    /// and far more than the pipes and buffers between git and a client hold. The repository
    /// and the commit.
    func makeLargeRepository(_ owner: TestUser, _ name: String) async throws -> (repository: Repository, head: String) {
        let repository = try await makeRepository(owner, name)
        let work = try await makeWorkingCopy(name, commits: 1)
        let noise = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: 48 << 20)
        try noise.write(to: URL(fileURLWithPath: "\(work)/large.bin"))
        try await git(["add", "."], in: work)
        try await git(["commit", "--quiet", "-m", "large"], in: work)
        try await git(["push", "--quiet", cloneURL(repository.fullName, credentials: owner.tokenCredentials), "main"], in: work)
        return (repository, try await git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `ref → sha` as `git ls-remote` (or `show-ref`) prints them.
    static func refs(_ listing: String) -> [String: String] {
        var refs: [String: String] = [:]
        for line in listing.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count == 2 { refs[String(fields[1])] = String(fields[0]) }
        }
        return refs
    }
}

struct TestUser: Sendable {
    let user: User
    let password: String
    let token: String

    var passwordCredentials: String { "\(user.username):\(password)" }
    var tokenCredentials: String { "\(user.username):\(token)" }
}

struct GitResult: Sendable {
    let succeeded: Bool
    let output: String
    let error: String
}

/// Runs a daemon of a test stack until `body` returns, once it listens and answers
/// `/healthz` (`body` gets its port), and stops it with a deadline (see `runBounded`),
/// naming the services a slow stop waits for.
func runDaemon<T: Sendable>(_ app: some ApplicationProtocol, _ environment: DaemonEnvironment, _ body: (Int) async throws -> T) async throws -> T {
    let services = environment.services
    return try await runBounded(app, name: environment.daemon.executable, logger: environment.logger, running: { services.names }, ready: {
        guard let port = services.listeningPort else { return false }
        return await answers("http://127.0.0.1:\(port)/healthz")
    }) {
        guard let port = services.listeningPort else { throw TestFailure("\(environment.daemon.executable) has no port") }
        return try await body(port)
    }
}
