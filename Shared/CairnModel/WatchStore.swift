public import CairnRedis

/// Who watches which repository: a Redis set of user ids per repository. Watchers get mail
/// about pushes. Redis holds it, as DESIGN.md keeps the social sets there.
public struct WatchStore: Sendable {
    public let redis: RedisClient
    public let namespace: String

    public init(redis: RedisClient, namespace: String) {
        self.redis = redis
        self.namespace = namespace
    }

    func key(_ repositoryID: Int64) -> String { "\(namespace):watchers:\(repositoryID)" }

    public func watch(_ repositoryID: Int64, userID: Int64) async throws {
        try await redis.send("SADD", key(repositoryID), String(userID))
    }

    public func unwatch(_ repositoryID: Int64, userID: Int64) async throws {
        try await redis.send("SREM", key(repositoryID), String(userID))
    }

    public func isWatching(_ repositoryID: Int64, userID: Int64) async throws -> Bool {
        try await redis.send("SISMEMBER", key(repositoryID), String(userID)).int == 1
    }

    /// The ids of everyone watching the repository.
    public func watchers(of repositoryID: Int64) async throws -> [Int64] {
        try await redis.send("SMEMBERS", key(repositoryID)).array.compactMap { $0.string.flatMap { Int64($0) } }
    }
}
