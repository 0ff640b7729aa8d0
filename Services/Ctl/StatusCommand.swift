import ArgumentParser
import AsyncHTTPClient
import CairnDatabase
import CairnProtocol
import CairnRedis
import CairnService
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// `cairnctl status`: each daemon's readiness, queue and dead-letter lengths, outbox backlog,
/// the push spool, and the analytics stream's lag.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each daemon's readiness, the queues, dead letters, the outbox backlog, the push spool and the analytics lag.",
        discussion: "Exits 1 when a daemon is not ready or a store does not answer.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let context = try CtlContext(options)
        var healthy = true
        print("daemons:")
        for daemon in Daemon.allCases {
            let (ready, detail) = await readiness(of: daemon, configuration: context.configuration)
            healthy = healthy && ready
            print("  \(daemon.executable.padding(toLength: 16, withPad: " ", startingAt: 0)) \(ready ? "ready" : "NOT READY")  \(detail)")
        }
        let redis = RedisClient(configuration: context.configuration.redis, logger: context.logger)
        print("queues:            ready  delayed  dead")
        do {
            for name in QueueName.allCases {
                let queue = ReliableQueue(redis: redis, name: name.rawValue, namespace: context.configuration.redisNamespace)
                let counts = try await (queue.readyCount(), queue.delayedCount(), queue.deadCount())
                print("  \(name.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(counts.0).leftPadded(5))  \(String(counts.1).leftPadded(7))  \(String(counts.2).leftPadded(4))")
            }
        } catch {
            healthy = false
            print("  unavailable: \(error)")
        }
        do {
            let backlog = try await withPostgres(context.configuration.database, logger: context.logger) { client in
                try await Outbox(client: client, redis: redis, logger: context.logger).backlog()
            }
            print("outbox backlog: \(backlog)")
        } catch {
            healthy = false
            print("outbox backlog: unavailable: \(error)")
        }
        do {
            let spool = try await context.internalClient(.repostore).getJSON(PushSpoolBacklog.self, "/spool")
            let age = spool?.oldest.map { String(format: ", oldest %.0f s", max(0, Date().timeIntervalSince($0))) } ?? ""
            print("push spool: \(spool?.waiting ?? 0) pushes waiting for Redis\(age)")
        } catch {
            healthy = false
            print("push spool: unavailable: \(error)")
        }
        do {
            print(try await streamStatus(redis: redis, context: context))
        } catch {
            healthy = false
            print("analytics stream: unavailable: \(error)")
        }
        await redis.shutdown()
        if !healthy { throw ExitCode(1) }
    }

    /// Events waiting and how old the oldest is (the lag a new event would see), batches in
    /// flight, dead letters, and when the last batch was folded with the lag it had.
    private func streamStatus(redis: RedisClient, context: CtlContext) async throws -> String {
        let batches = EventBatches(redis: redis, namespace: context.configuration.redisNamespace)
        let waiting = try await batches.waitingCount()
        let oldest = try await batches.oldestWaiting().flatMap { try? CairnJSON.decode(EventEnvelope.self, from: Data($0)) }
        let lag = oldest.map { String(format: "%.1f s", max(0, Date().timeIntervalSince($0.at))) } ?? "0 s"
        var lines = ["analytics stream: \(waiting) events waiting, lag \(lag), \(try await batches.inFlightCount()) batches in flight, \(try await batches.deadCount()) dead"]
        let last = try await withPostgres(context.configuration.analytics, logger: context.logger) { client in
            var found: (Date, Int)?
            for try await row in try await client.run("SELECT processed_at, lag_ms FROM processed_batches ORDER BY processed_at DESC LIMIT 1", logger: context.logger).decode((Date, Int).self) {
                found = row
            }
            return found
        }
        if let (at, lagMilliseconds) = last {
            lines.append("  last batch folded \(String(format: "%.0f", Date().timeIntervalSince(at))) s ago, \(lagMilliseconds) ms after its oldest event")
        } else {
            lines.append("  no batch folded yet")
        }
        return lines.joined(separator: "\n")
    }

    private func readiness(of daemon: Daemon, configuration: CairnConfiguration) async -> (Bool, String) {
        let base = configuration.listener(daemon).url
        switch await ReadinessProbe.ask(base) {
        case .success(let report):
            return (report.ready, "\(base)/readyz  " + report.checks.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
        case .failure(let failure):
            return (false, "\(base)/readyz  \(failure)")
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
