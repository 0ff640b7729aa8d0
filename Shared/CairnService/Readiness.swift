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
    /// Whether the daemon is unready without it; a daemon that serves on without it (in a
    /// lesser way) still reports it, as `degraded: …`.
    public let required: Bool
    public let probe: @Sendable () async throws -> Void

    public init(name: String, required: Bool = true, probe: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.required = required
        self.probe = probe
    }

    /// The same check, reported but not required.
    public var optional: ReadinessCheck { ReadinessCheck(name: name, required: false, probe: probe) }

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
        let results = await withTaskGroup(of: (String, String, Bool).self) { group in
            for check in checks {
                group.addTask {
                    do {
                        try await check.probe()
                        return (check.name, "ok", true)
                    } catch {
                        return (check.name, (check.required ? "" : "degraded: ") + String(describing: error), !check.required)
                    }
                }
            }
            var results: [String: String] = [:]
            var ready = true
            for await (name, result, fine) in group {
                results[name] = result
                ready = ready && fine
            }
            return (results, ready)
        }
        return ReadinessReport(daemon: daemon.executable, ready: results.1, checks: results.0)
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
