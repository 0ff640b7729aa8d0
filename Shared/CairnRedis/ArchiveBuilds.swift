/// The archives being built for each repository, in Redis: asking for an archive claims a
/// build once (a second request while it is queued or running queues nothing), and one
/// repository may have at most `limit` builds pending at a time, so that a visitor cannot
/// queue an archive of every commit. The worker ends a build when it is done; a build that
/// never ends (its worker died) frees its place after `pendingSeconds`.
public struct ArchiveBuilds: Sendable {
    let redis: RedisClient
    let namespace: String
    public var limit: Int
    public var pendingSeconds: Int

    public init(redis: RedisClient, namespace: String, limit: Int = 4, pendingSeconds: Int = 600) {
        self.redis = redis
        self.namespace = namespace
        self.limit = limit
        self.pendingSeconds = pendingSeconds
    }

    /// What `claim` found.
    public enum Claim: Equatable, Sendable {
        /// The caller should queue the build.
        case claimed
        /// The build is queued or running already.
        case pending
        /// The repository has `limit` builds pending: try again later.
        case busy
    }

    /// Claims the build of archive `name` of `repository`, in one Redis step.
    public func claim(repository: Int64, name: String, now: Double) async throws -> Claim {
        let reply = try await redis.send(
            "EVAL", Self.claimScript, "1", key(repository), name, String(now), String(now + Double(pendingSeconds)), String(limit), String(pendingSeconds))
        switch reply.int {
        case 1: return .claimed
        case 0: return .pending
        default: return .busy
        }
    }

    /// Ends the build of archive `name` (built, or failed for good), freeing its place.
    public func finish(repository: Int64, name: String) async throws {
        try await redis.send("ZREM", key(repository), name)
    }

    private func key(_ repository: Int64) -> String { "\(namespace):archive:building:\(repository)" }

    /// KEYS[1]: the repository's pending builds, scored by when each expires. ARGV: name,
    /// now, expiry, limit, the key's lifetime. Answers 1 (claimed), 0 (pending), -1 (busy).
    static let claimScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return -1 end
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
        redis.call('EXPIRE', KEYS[1], ARGV[5])
        return 1
        """
}
