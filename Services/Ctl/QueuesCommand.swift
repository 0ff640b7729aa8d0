import ArgumentParser
import CairnProtocol
import CairnRedis
import CairnService
import Foundation

/// `cairnctl queues`: each queue's depth and its dead letters with their reasons.
struct QueuesCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues", abstract: "List each queue's ready, delayed and dead tasks, and the dead letters with why they failed.")

    @OptionGroup var options: GlobalOptions
    @Option(help: "Dead letters to show per queue, newest first.") var limit = 20

    mutating func execute() async throws {
        let context = try CtlContext(options)
        let limit = max(1, limit)
        try await withRedis(context) { redis in
            for name in QueueName.allCases {
                let queue = ReliableQueue(redis: redis, name: name.rawValue, namespace: context.configuration.redisNamespace)
                let (ready, delayed, dead) = try await (queue.readyCount(), queue.delayedCount(), queue.deadCount())
                print("\(name.rawValue): \(ready) ready, \(delayed) waiting for a retry, \(dead) dead")
                for letter in try await queue.deadLetters(limit: limit) {
                    print("  \(letter.task.id)  \(letter.task.kind)  attempts \(letter.task.attempt + 1)  \(CairnJSON.formatDate(letter.failedAt))  \(letter.reason)")
                }
                if dead > limit { print("  … and \(dead - limit) more") }
            }
        }
    }
}

/// `cairnctl requeue`: moves dead letters back to their queue as fresh tasks.
struct RequeueCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue", abstract: "Move dead letters back to their queue: one by task id, all of a kind, or all.")

    @OptionGroup var options: GlobalOptions
    @Option(help: "The queue: default, webhooks or maintenance.") var queue: String
    @Option(help: "The task id of one dead letter.") var id: String?
    @Option(help: "Every dead letter of this kind (e.g. webhook.deliver).") var kind: String?
    @Flag(help: "Every dead letter of the queue.") var all = false

    mutating func validate() throws {
        guard QueueName(rawValue: queue) != nil else {
            throw ValidationError("unknown queue \(queue): use \(QueueName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard [id != nil, kind != nil, all].filter({ $0 }).count == 1 else { throw ValidationError("name exactly one of --id, --kind or --all") }
    }

    mutating func execute() async throws {
        let context = try CtlContext(options)
        let (queue, id, kind) = (queue, id, kind)
        let moved = try await withRedis(context) { redis in
            try await ReliableQueue(redis: redis, name: queue, namespace: context.configuration.redisNamespace).requeueDead(id: id, kind: kind)
        }
        if moved == 0, id != nil { throw CtlError("no dead letter with task id \(id!) in \(queue)") }
        print("requeued \(moved) task\(moved == 1 ? "" : "s") to \(queue)")
    }
}

/// Runs `body` with a Redis client, shutting it down afterwards.
func withRedis<T: Sendable>(_ context: CtlContext, _ body: @Sendable (RedisClient) async throws -> T) async throws -> T {
    let redis = RedisClient(configuration: context.configuration.redis, logger: context.logger)
    do {
        let result = try await body(redis)
        await redis.shutdown()
        return result
    } catch let error as RedisError {
        await redis.shutdown()
        throw CtlError("Redis at \(context.configuration.redis.host):\(context.configuration.redis.port): \(error)")
    } catch {
        await redis.shutdown()
        throw error
    }
}
