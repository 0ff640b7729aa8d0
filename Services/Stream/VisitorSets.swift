import CairnRedis
/// The sets of visitors already counted per scope (a repository's hour or day, for views,
/// clones or one path), kept in Redis as `<ns>:uniq:<scope>` for `setLifetime` from their
/// creation, so that unique counts stay exact across batches and processors at the cost of
/// one `SADD` per scope and batch.
///
/// `countNew` runs once per batch, atomically, and remembers its answer under the batch id
/// (`<ns>:events:uniq-memo:<batch>`, for a day): a batch folded again after a crash gets the
/// same counts back instead of finding its own visitors already in the sets, so the batch's
/// transaction writes the same uniques whether it runs once or again.
struct VisitorSets: Sendable {
    let redis: RedisClient
    let namespace: String
    /// How long a scope's set lives after it was made: its bucket (an hour or a day) is long
    /// over by then, with room for late events.
    var setLifetime: Duration = .seconds(3 * 86_400)

    init(redis: RedisClient, namespace: String) {
        self.redis = redis
        self.namespace = namespace
    }

    /// Adds each scope's visitors to its set for batch `batchID`; returns, per scope (in the
    /// order given), how many of its visitors the set did not hold before.
    func countNew(batchID: String, visitorsByScope: [(scope: String, visitors: [String])]) async throws -> [Int] {
        guard !visitorsByScope.isEmpty else { return [] }
        var arguments: [[UInt8]] = [
            Array("EVAL".utf8), Array(Self.script.utf8), Array("1".utf8), Array("\(namespace):events:uniq-memo:\(batchID)".utf8),
            Array("\(namespace):uniq:".utf8), Array(String(setLifetime.components.seconds).utf8),
        ]
        arguments.reserveCapacity(arguments.count + visitorsByScope.reduce(0) { $0 + 2 + $1.visitors.count })
        for (scope, visitors) in visitorsByScope {
            arguments.append(Array(scope.utf8))
            arguments.append(Array(String(visitors.count).utf8))
            for visitor in visitors { arguments.append(Array(visitor.utf8)) }
        }
        let reply = try await redis.send(arguments)
        let counts = reply.string?.split(separator: ",").compactMap { Int($0) } ?? []
        guard counts.count == visitorsByScope.count else {
            throw RedisError.command(command: "EVAL", message: "visitor sets answered \(counts.count) counts for \(visitorsByScope.count) scopes")
        }
        return counts
    }

    /// KEYS: memo. ARGV: set key prefix, set lifetime (s), then per scope: its name, the
    /// number n of visitors, and the n visitors. Returns the new counts per scope, comma-separated.
    static let script = """
        local memo = redis.call('GET', KEYS[1])
        if memo then return memo end
        local prefix, lifetime = ARGV[1], tonumber(ARGV[2])
        local counts = {}
        local i = 3
        while i <= #ARGV do
          local key, n = prefix .. ARGV[i], tonumber(ARGV[i + 1])
          local added = 0
          -- In slices: Lua's unpack takes at most a few thousand values.
          for first = i + 2, i + 1 + n, 1000 do
            added = added + redis.call('SADD', key, unpack(ARGV, first, math.min(first + 999, i + 1 + n)))
          end
          -- A set that had some of these visitors existed already, with its lifetime set.
          if added == n then redis.call('EXPIRE', key, lifetime) end
          counts[#counts + 1] = added
          i = i + 2 + n
        end
        local result = table.concat(counts, ',')
        redis.call('SET', KEYS[1], result, 'EX', 86400)
        return result
        """
}
