import ArgumentParser
import AsyncHTTPClient
import CairnDatabase
import CairnProtocol
import CairnRedis
import CairnService
import Foundation
import Logging
import NIOCore

/// `cairnctl status`: each daemon's readiness, queue and dead-letter lengths, outbox backlog.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each daemon's readiness, the queues, dead letters and the outbox backlog.",
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
        await redis.shutdown()
        if !healthy { throw ExitCode(1) }
    }

    private func readiness(of daemon: Daemon, configuration: CairnConfiguration) async -> (Bool, String) {
        let url = configuration.listener(daemon).url + "/readyz"
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(3))
            let body = try await response.body.collect(upTo: 64 * 1024)
            let report = try CairnJSON.decode(ReadinessReport.self, from: Data(String(buffer: body).utf8))
            let checks = report.checks.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            return (report.ready, "\(url)  \(checks)")
        } catch {
            return (false, "\(url)  unreachable: \(error)")
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
