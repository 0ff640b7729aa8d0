public import CairnDatabase
public import CairnProtocol
public import CairnRedis
import Foundation
import AsyncHTTPClient
import NIOCore
public import PostgresNIO

/// One thing a daemon needs to do its work, and how to ask whether it answers.
public struct ReadinessCheck: Sendable {
    public let name: String
    public let probe: @Sendable () async throws -> Void

    public init(name: String, probe: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.probe = probe
    }

    /// PostgreSQL answers `SELECT 1` within two seconds.
    public static func postgres(_ name: String, _ client: PostgresClient) -> ReadinessCheck {
        ReadinessCheck(name: name) {
            try await withTimeLimit(.seconds(2), "PostgreSQL's answer to SELECT 1") {
                _ = try await client.query("SELECT 1", logger: .init(label: "cairn.readiness"))
            }
        }
    }

    /// Redis answers `PING`.
    public static func redis(_ client: RedisClient) -> ReadinessCheck {
        ReadinessCheck(name: "redis") { try await client.send("PING") }
    }

    /// `path` is a directory this process can write to.
    public static func writableDirectory(_ name: String, _ path: String) -> ReadinessCheck {
        ReadinessCheck(name: name) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ReadinessFailure("\(path) is not a directory")
            }
            guard FileManager.default.isWritableFile(atPath: path) else { throw ReadinessFailure("\(path) is not writable") }
        }
    }

    /// Runs every check at once and reports each.
    public static func report(daemon: Daemon, checks: [ReadinessCheck]) async -> ReadinessReport {
        let results = await withTaskGroup(of: (String, String).self) { group in
            for check in checks {
                group.addTask {
                    do {
                        try await check.probe()
                        return (check.name, "ok")
                    } catch {
                        return (check.name, String(describing: error))
                    }
                }
            }
            var results: [String: String] = [:]
            for await (name, result) in group { results[name] = result }
            return results
        }
        return ReadinessReport(daemon: daemon.executable, ready: results.values.allSatisfy { $0 == "ok" }, checks: results)
    }
}

/// Why a readiness check failed.
public struct ReadinessFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Asks a daemon over HTTP whether it is ready (its `/readyz`), as `cairnctl status` and the
/// public status page do.
public enum ReadinessProbe {
    /// The daemon's report, or why it could not be had.
    public static func ask(_ baseURL: String, timeout: TimeAmount = .seconds(3)) async -> Result<ReadinessReport, ReadinessFailure> {
        do {
            let response = try await InternalClient.sharedHTTPClient.execute(HTTPClientRequest(url: baseURL + "/readyz"), timeout: timeout)
            let body = try await response.body.collect(upTo: 64 * 1024)
            return .success(try CairnJSON.decode(ReadinessReport.self, from: Data(body.readableBytesView)))
        } catch {
            return .failure(ReadinessFailure("unreachable: \(error)"))
        }
    }
}
