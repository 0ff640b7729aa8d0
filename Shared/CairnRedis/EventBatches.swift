import CairnProtocol
public import Foundation

/// The analytics list, read in batches with the reliable pattern: a batch is moved
/// atomically from `<ns>:events` into a list of its own, `<ns>:events:batch:<id>`, leased in
/// the sorted set `<ns>:events:batches` (scored by when the lease ends), and removed only
/// when its taker finishes it. A batch whose lease ran out — its taker died — is taken again,
/// whole and under the same id, by the next processor that asks, so that the analytics
/// database, which records the ids it has folded, can recognise it.
public struct EventBatches: Sendable {
    public let redis: RedisClient
    public let namespace: String

    public init(redis: RedisClient, namespace: String) {
        self.redis = redis
        self.namespace = namespace
    }

    /// Where events wait; `EventPublisher` pushes onto its head.
    public var events: String { "\(namespace):events" }
    /// Leased batches by the time their lease ends (ms).
    public var leases: String { "\(namespace):events:batches" }
    /// Events that could not be folded, as JSON records with the reason.
    public var dead: String { "\(namespace):events:dead" }
    func batchKey(_ id: String) -> String { "\(namespace):events:batch:\(id)" }

    /// Takes an abandoned batch if there is one, else up to `limit` of the oldest waiting
    /// events as a new batch; nil when nothing waits.
    public func take(limit: Int, lease: Duration, now: Date = Date()) async throws -> EventBatch? {
        let milliseconds = Int(now.timeIntervalSince1970 * 1000)
        let id = UUID().uuidString.lowercased()
        let reply = try await redis.send([
            "EVAL", Self.takeScript, "2", events, leases, batchKey(""), String(max(1, limit)),
            String(milliseconds), String(lease.wholeMilliseconds), id,
        ])
        let parts = reply.array
        guard parts.count == 3, let taken = parts[0].string else { return nil }
        return EventBatch(id: taken, events: parts[1].array.compactMap(\.bytes), reclaimed: parts[2].int == 1)
    }

    /// Removes a folded batch and dead-letters what could not be folded, in one step.
    public func finish(_ batch: EventBatch, deadLetters: [DeadEvent] = []) async throws {
        let records = try deadLetters.map { Array(try CairnJSON.encode($0)) }
        try await redis.send(
            [Array("EVAL".utf8), Array(Self.finishScript.utf8), Array("3".utf8), Array(leases.utf8), Array(batchKey(batch.id).utf8), Array(dead.utf8), Array(batch.id.utf8)]
                + records)
    }

    /// Events waiting to be taken.
    public func waitingCount() async throws -> Int { try await redis.send("LLEN", events).int ?? 0 }
    /// The oldest waiting event, as it was published.
    public func oldestWaiting() async throws -> [UInt8]? { try await redis.send("LINDEX", events, "-1").bytes }
    /// Batches taken and not yet finished.
    public func inFlightCount() async throws -> Int { try await redis.send("ZCARD", leases).int ?? 0 }
    /// Events dead-lettered so far.
    public func deadCount() async throws -> Int { try await redis.send("LLEN", dead).int ?? 0 }

    /// The newest dead letters first.
    public func deadLetters(limit: Int = 100) async throws -> [DeadEvent] {
        try await redis.send("LRANGE", dead, "0", String(limit - 1)).array.compactMap(\.bytes).compactMap {
            try? CairnJSON.decode(DeadEvent.self, from: Data($0))
        }
    }

    /// KEYS: events, leases. ARGV: batch key prefix, limit, now (ms), lease (ms), new id.
    /// Returns {id, events, reclaimed} or nothing.
    static let takeScript = """
        local now = tonumber(ARGV[3])
        local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1)
        if #expired > 0 then
          local id = expired[1]
          redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), id)
          return {id, redis.call('LRANGE', ARGV[1] .. id, 0, -1), 1}
        end
        local taken = redis.call('LRANGE', KEYS[1], -tonumber(ARGV[2]), -1)
        if #taken == 0 then return {} end
        redis.call('LTRIM', KEYS[1], 0, -#taken - 1)
        local batch = ARGV[1] .. ARGV[5]
        for first = 1, #taken, 1000 do
          redis.call('RPUSH', batch, unpack(taken, first, math.min(first + 999, #taken)))
        end
        redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[5])
        return {ARGV[5], taken, 0}
        """

    /// KEYS: leases, batch, dead. ARGV: id, dead records….
    static let finishScript = """
        redis.call('DEL', KEYS[2])
        redis.call('ZREM', KEYS[1], ARGV[1])
        for i = 2, #ARGV do redis.call('LPUSH', KEYS[3], ARGV[i]) end
        return #ARGV - 1
        """
}

/// Events taken together, under one id.
public struct EventBatch: Sendable {
    public let id: String
    /// The events as published (JSON envelopes, unless something else wrote to the list).
    public let events: [[UInt8]]
    /// Whether the batch was taken before by a processor that did not finish it.
    public let reclaimed: Bool
}

/// An event that could not be folded, with the reason; `event` is its text as published.
public struct DeadEvent: Sendable, Codable, Equatable {
    public var reason: String
    public var event: String
    public var at: Date

    public init(reason: String, event: [UInt8], at: Date = Date()) {
        self.reason = reason
        self.event = String(decoding: event.prefix(64 * 1024), as: UTF8.self)
        self.at = at
    }
}
