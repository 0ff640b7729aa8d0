import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
import Foundation
import Hummingbird
import PostgresNIO
import Synchronization

// cairn-bench webhooks: against a running Cairn (bench/webhooks starts one), with a receiver
// on 127.0.0.1:$CAIRN_BENCH_RECEIVER_PORT.
//   1. latency: `git push` returning → the push event arriving at the receiver, median of N pushes;
//   2. throughput: N deliveries of a real push payload of 20 commits queued at once (through
//      the outbox, as the push task queues them) over 20 hooks → each delivery received,
//      counted once by its delivery id (a redelivery does not count twice), per second.

/// What the receiver saw: a count per path, when each push's `after` arrived with what
/// body, and the distinct delivery ids per path.
final class ReceiverLog: Sendable {
    private struct State {
        var counts: [String: Int] = [:]
        var arrivals: [String: (at: ContinuousClock.Instant, body: [UInt8])] = [:]
        var deliveries: [String: Set<String>] = [:]
    }
    private let state = Mutex(State())

    func record(path: String, delivery: String?, body: [UInt8]) {
        let now = ContinuousClock.now
        var after: String?
        if path == "/latency", let range = body.firstRange(of: Array(#""after":""#.utf8)) {
            after = String(decoding: body[range.upperBound...].prefix(40), as: UTF8.self)
        }
        state.withLock { state in
            state.counts[path, default: 0] += 1
            if let after { state.arrivals[after] = (now, body) }
            if let delivery { state.deliveries[path, default: []].insert(delivery) }
        }
    }

    func count(_ path: String) -> Int { state.withLock { $0.counts[path] ?? 0 } }
    func arrival(of sha: String) -> ContinuousClock.Instant? { state.withLock { $0.arrivals[sha]?.at } }
    func body(of sha: String) -> [UInt8]? { state.withLock { $0.arrivals[sha]?.body } }
    /// How many of `ids` arrived at `path`.
    func delivered(_ ids: Set<String>, at path: String) -> Int { state.withLock { $0.deliveries[path, default: []].intersection(ids).count } }
}

func benchWebhooks() async throws {
    let deliveries = option("deliveries", 10_000)
    let pushes = option("pushes", 30)
    let gateway = environment["CAIRN_BENCH_GATEWAY_URL"]!
    let token = environment["CAIRN_BENCH_TOKEN"]!
    let work = environment["CAIRN_BENCH_WORK"]!
    let port = Int(environment["CAIRN_BENCH_RECEIVER_PORT"] ?? "18499")!
    let receiverURL = "http://127.0.0.1:\(port)"
    let log = ReceiverLog()

    let router = Router()
    router.post("**") { request, _ -> Response in
        let body = try await request.body.collect(upTo: 1 << 20)
        log.record(path: request.uri.path, delivery: request.headers.first { $0.name.canonicalName == "x-cairn-delivery" }?.value, body: Array(body.readableBytesView))
        return Response(status: .ok)
    }
    let receiver = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    let database = DatabaseConfiguration(url: environment["CAIRN_BENCH_DATABASE_URL"]!, poolSize: 8)!
    let client = PostgresClient(configuration: database.client, backgroundLogger: logger)
    let redis = RedisClient(configuration: RedisConfiguration(url: environment["CAIRN_BENCH_REDIS_URL"]!, poolSize: 8)!, logger: logger)

    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await receiver.runService() }
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        try await Task.sleep(for: .milliseconds(500))
        let api = BenchAPI(base: gateway, token: token)

        // 1. Latency, idle: one hook, one push at a time.
        let latencyHook = try await api.createHook("bench/site", url: receiverURL + "/latency")
        let clone = "\(work)/latency"
        try run("git", ["clone", "--quiet", "http://bench:\(token)@\(gateway.dropFirst(7))/bench/site.git", clone])
        var latencies: [Double] = []
        for round in 0..<(pushes + 3) {
            try "change \(round)\n".write(toFile: "\(clone)/change.txt", atomically: true, encoding: .utf8)
            try run("git", ["-C", clone, "add", "."])
            try run("git", ["-C", clone, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "--quiet", "-m", "change \(round)"])
            let sha = try run("git", ["-C", clone, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
            try run("git", ["-C", clone, "push", "--quiet", "origin", "HEAD:main"])
            let returned = ContinuousClock.now
            let deadline = returned + .seconds(10)
            while log.arrival(of: sha) == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
            guard let arrived = log.arrival(of: sha) else { throw BenchFailure("push \(round) never arrived") }
            if round >= 3 { latencies.append(milliseconds(arrived - returned)) }
            try await Task.sleep(for: .milliseconds(300))  // idle between pushes
        }
        print(String(format: "webhooks: git push returning → push event received: median %.1f ms, max %.1f ms over %d pushes",
                     median(latencies), latencies.max() ?? 0, latencies.count))
        // A push of 20 commits: its event, as the worker built it, is the throughput payload.
        for round in 0..<20 {
            try "more \(round)\n".write(toFile: "\(clone)/more.txt", atomically: true, encoding: .utf8)
            try run("git", ["-C", clone, "add", "."])
            try run("git", ["-C", clone, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "--quiet", "-m", "more \(round)"])
        }
        let twenty = try run("git", ["-C", clone, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try run("git", ["-C", clone, "push", "--quiet", "origin", "HEAD:main"])
        let bodyDeadline = ContinuousClock.now + .seconds(10)
        while log.body(of: twenty) == nil && ContinuousClock.now < bodyDeadline { try await Task.sleep(for: .milliseconds(5)) }
        guard let pushBody = log.body(of: twenty) else { throw BenchFailure("the push of 20 commits never arrived") }
        let payload = String(decoding: pushBody, as: UTF8.self)
        let commitCount = ((try JSONSerialization.jsonObject(with: Data(pushBody)) as? [String: Any])?["commits"] as? [Any])?.count ?? 0
        guard commitCount == 20 else { throw BenchFailure("the push event of 20 commits lists \(commitCount)") }
        try await api.deleteHook("bench/site", latencyHook)

        // 2. Throughput: deliveries queued in bulk to 20 hooks, as many pushes would queue them.
        var hooks: [Int64] = []
        for _ in 0..<20 { hooks.append(try await api.createHook("bench/site", url: receiverURL + "/throughput")) }
        let deadline = ContinuousClock.now + .seconds(30)
        while log.count("/throughput") < hooks.count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }  // the pings
        let baseline = log.count("/throughput")
        let store = WebhookStore(client: client, logger: logger)
        let outbox = Outbox(client: client, redis: redis, namespace: environment["CAIRN_BENCH_NAMESPACE"] ?? "cairn", logger: logger)
        let started = ContinuousClock.now
        var queued = 0
        var guids: Set<String> = []
        while queued < deliveries {
            let batch = min(500, deliveries - queued)
            let first = queued
            let targets = (first..<(first + batch)).map { (hookID: hooks[$0 % hooks.count], guid: UUID()) }
            guids.formUnion(targets.map { $0.guid.uuidString.lowercased() })
            _ = try await outbox.transaction { transaction in
                try await store.enqueueDeliveries(targets, event: "push", payload: payload, in: transaction)
            }
            queued += batch
        }
        let enqueued = ContinuousClock.now
        let finish = ContinuousClock.now + .seconds(300)
        while log.delivered(guids, at: "/throughput") < deliveries && ContinuousClock.now < finish { try await Task.sleep(for: .milliseconds(5)) }
        let received = log.delivered(guids, at: "/throughput")
        let elapsed = milliseconds(ContinuousClock.now - started) / 1000
        let requests = log.count("/throughput") - baseline
        guard received == deliveries else { throw BenchFailure("only \(received) of \(deliveries) deliveries arrived within 300 s") }
        print(String(format: "webhooks: %d distinct deliveries (%d requests) of a %d-byte push event of 20 commits to 20 hooks, queued in %.2f s, all received in %.2f s: %.0f deliveries/s end to end",
                     received, requests, pushBody.count, milliseconds(enqueued - started) / 1000, elapsed, Double(received) / elapsed))
        for hook in hooks { try await api.deleteHook("bench/site", hook) }
    }
    await redis.shutdown()
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to its end; its standard output, or an error with its standard error.
@discardableResult
func run(_ program: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [program] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw BenchFailure("\(program) \(arguments.joined(separator: " ")): \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
    }
    return text
}

/// The few API calls the benchmark makes, with curl.
struct BenchAPI {
    let base: String
    let token: String

    func createHook(_ repository: String, url: String) async throws -> Int64 {
        let body = #"{"config": {"url": "\#(url)", "content_type": "json", "secret": "bench"}, "events": ["push"]}"#
        let text = try run("curl", ["-fsS", "-H", "Authorization: token \(token)", "-X", "POST", "\(base)/api/v3/repos/\(repository)/hooks", "-d", body])
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let id = object["id"] as? Int else {
            throw BenchFailure("creating a hook answered \(text)")
        }
        return Int64(id)
    }

    func deleteHook(_ repository: String, _ id: Int64) async throws {
        try run("curl", ["-fsS", "-H", "Authorization: token \(token)", "-X", "DELETE", "\(base)/api/v3/repos/\(repository)/hooks/\(id)"])
    }
}
