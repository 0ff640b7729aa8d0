public import CairnDatabase
import CairnProtocol
public import CairnRedis
public import CairnService
public import Foundation
import Synchronization
public import Logging
public import PostgresNIO

/// The PostgreSQL, Redis and binaries that `deploy/local/test` brought up, as its
/// environment variables name them. Test support starts nothing itself.
public enum TestEnvironment {
    /// `CAIRN_TEST_<name>`, or a clear failure saying how tests are meant to run.
    public static func required(_ name: String) -> String {
        guard let value = ProcessInfo.processInfo.environment["CAIRN_TEST_\(name)"], !value.isEmpty else {
            fatalError("CAIRN_TEST_\(name) is not set: run the tests with deploy/local/test, which starts PostgreSQL and Redis for them")
        }
        return value
    }

    /// A quiet logger for the code under test (warnings and worse).
    public static var logger: Logger {
        var logger = Logger(label: "cairn.test")
        logger.logLevel = .warning
        return logger
    }

    /// A fresh, unique name, for schemas, Redis namespaces and the like.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
    }

    /// The test database (`main` or `analytics`), optionally narrowed to one schema.
    public static func database(_ schema: Schema = .main, searchPath: String? = nil) -> DatabaseConfiguration {
        var configuration = DatabaseConfiguration(url: required(schema == .main ? "DATABASE_URL" : "ANALYTICS_URL"), poolSize: 8)!
        configuration.searchPath = searchPath
        return configuration
    }

    /// Redis for tests; every test uses its own key namespace on it.
    public static var redis: RedisConfiguration { RedisConfiguration(url: required("REDIS_URL"), poolSize: 16)! }

    /// The `CAIRN_*` settings that put the blob store on the S3-compatible server
    /// `deploy/local/test` started (moto), in a bucket of its own.
    public static func s3Settings(partBytes: Int = 16 << 20) -> [String: String] {
        [
            "CAIRN_BLOBSTORE_BACKEND": "s3", "CAIRN_BLOBSTORE_S3_ENDPOINT": required("S3_URL"),
            "CAIRN_BLOBSTORE_S3_BUCKET": "cairn-" + uniqueName("test").replacingOccurrences(of: "_", with: "-"),
            "CAIRN_BLOBSTORE_S3_ACCESS_KEY_ID": "cairn-test", "CAIRN_BLOBSTORE_S3_SECRET_ACCESS_KEY": "cairn-test-secret",
            "CAIRN_BLOBSTORE_S3_PART_BYTES": String(partBytes),
        ]
    }

    /// A whole configuration pointing at the test stores, as a daemon would load it,
    /// with `overrides` as further `CAIRN_*` variables.
    public static func configuration(_ overrides: [String: String] = [:]) throws -> CairnConfiguration {
        var environment = [
            "CAIRN_SIGNING_KEY": "test-signing-key-0123456789-abcdefghijklmnop",
            "CAIRN_DATABASE_URL": required("DATABASE_URL"),
            "CAIRN_ANALYTICS_URL": required("ANALYTICS_URL"),
            "CAIRN_REDIS_URL": required("REDIS_URL"),
            "CAIRN_REPOSTORE_ROOT": NSTemporaryDirectory() + uniqueName("repos"),
            "CAIRN_BLOBSTORE_ROOT": NSTemporaryDirectory() + uniqueName("blobs"),
            "CAIRN_SSHD_HOST_KEY_FILE": NSTemporaryDirectory() + uniqueName("ssh") + "/host_key", "CAIRN_SSHD_SSH_PORT": "0",
            "CAIRN_LOG_LEVEL": "warning",
            // Many stacks run at once; small pools keep them within the server's connections.
            "CAIRN_DATABASE_POOL_SIZE": "4", "CAIRN_ANALYTICS_POOL_SIZE": "2",
        ]
        // Every daemon gets an address of its own, even those a test does not start: a stack
        // that `deploy/local/run` keeps on the default ports must never answer for one.
        for daemon in Daemon.allCases { environment["CAIRN_\(daemon.rawValue.uppercased())_PORT"] = String((try? freePort()) ?? 1) }
        environment.merge(overrides) { $1 }
        return try CairnConfiguration.load(file: nil, environment: environment)
    }
}

/// Runs `body` with a started PostgreSQL client whose connections see only a new, empty
/// schema of their own; the schema is dropped afterwards.
public func withTestDatabase<T: Sendable>(
    _ schema: Schema = .main,
    migrated: Bool = true,
    _ body: @Sendable @escaping (PostgresClient, DatabaseConfiguration) async throws -> T
) async throws -> T {
    let name = TestEnvironment.uniqueName("t")
    let logger = TestEnvironment.logger
    let admin = PostgresClient(configuration: TestEnvironment.database(schema).client, backgroundLogger: logger)
    let configuration = TestEnvironment.database(schema, searchPath: name)
    let client = PostgresClient(configuration: configuration.client, backgroundLogger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { await admin.run(); return nil }
        group.addTask { await client.run(); return nil }
        defer { group.cancelAll() }
        _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(name)"), logger: logger)
        do {
            if migrated { try await Migrator(client: client, schema: schema, logger: logger).migrate() }
            let result = try await body(client, configuration)
            _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(name) CASCADE"), logger: logger)
            return result
        } catch {
            _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(name) CASCADE"), logger: logger)
            throw error
        }
    }
}

/// Runs `body` with a Redis client and a namespace no other test uses; the namespace's keys
/// are deleted afterwards.
public func withTestRedis<T: Sendable>(_ body: @Sendable (RedisClient, String) async throws -> T) async throws -> T {
    let client = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
    let namespace = TestEnvironment.uniqueName("test")
    do {
        let result = try await body(client, namespace)
        await cleanUp(client, namespace)
        return result
    } catch {
        await cleanUp(client, namespace)
        throw error
    }
}

private func cleanUp(_ client: RedisClient, _ namespace: String) async {
    if let keys = try? await client.send("KEYS", "\(namespace):*").array.compactMap(\.string), !keys.isEmpty {
        _ = try? await client.send(["DEL"] + keys)
    }
    await client.shutdown()
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Duration = .seconds(5), _ condition: @Sendable () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// A test's own failure, saying what went wrong.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Waits for `process` to end without holding one of the few cooperative threads that the
/// daemons running in the test process need (`waitUntilExit` would block one).
public func exited(_ process: Process) async {
    while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
}

/// Runs blocking `work` on a Dispatch thread, off the cooperative pool.
public func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

/// Waits for `task` to end, at most `limit`; whether it did. Unlike `task.value`, which a
/// task stuck in a wait that cancellation does not reach would hold forever (and with it
/// the whole test run), this gives up.
public func ended<Success: Sendable, Failure: Error>(_ task: Task<Success, Failure>, within limit: Duration) async -> Bool {
    let once = ResumeOnce()
    return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
        Task {
            _ = await task.result
            if once.claim() { continuation.resume(returning: true) }
        }
        Task {
            try? await Task.sleep(for: limit)
            if once.claim() { continuation.resume(returning: false) }
        }
    }
}

/// Lets exactly one of several racers resume a continuation.
private final class ResumeOnce: Sendable {
    private let taken = Mutex(false)
    func claim() -> Bool { taken.withLock { was in defer { was = true }; return !was } }
}
