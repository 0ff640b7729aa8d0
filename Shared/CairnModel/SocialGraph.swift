import CairnDatabase
import CairnProtocol
public import CairnRedis
import Foundation
public import Logging
public import PostgresNIO

/// The social relations: who stars and who watches which repository, who follows whom.
public enum SocialRelation: String, Sendable, CaseIterable {
    /// A user stars a repository.
    case star
    /// A user watches a repository (and gets mail about its pushes).
    case watch
    /// A user follows another user.
    case follow

    /// The table that holds the relation, and its two columns: the one who acts (subject)
    /// and what they act on (object).
    var table: (name: String, subject: String, object: String) {
        switch self {
        case .star: ("stars", "user_id", "repository_id")
        case .watch: ("watches", "user_id", "repository_id")
        case .follow: ("follows", "follower_id", "followee_id")
        }
    }

    /// The Redis set of an object's subjects (a repository's stargazers or watchers, a
    /// user's followers), and of a subject's objects (what a user starred, watches, follows).
    func keys(_ namespace: String) -> (bySubjects: String, byObjects: String) {
        switch self {
        case .star: ("\(namespace):social:stargazers", "\(namespace):social:starred")
        case .watch: ("\(namespace):social:watchers", "\(namespace):social:watching")
        case .follow: ("\(namespace):social:followers", "\(namespace):social:following")
        }
    }
}

/// A repository's social figures, as its pages show them.
public struct RepositorySocial: Sendable, Equatable {
    public let stars: Int
    public let watchers: Int
    public let starred: Bool
    public let watching: Bool
    /// The ids of the people the visitor follows who starred the repository.
    public let followedStargazers: [Int64]
}

/// A user's follow figures, as the profile page shows them.
public struct ProfileSocial: Sendable, Equatable {
    public let followers: Int
    public let following: Int
    /// Whether the visitor follows the user.
    public let isFollowing: Bool
}

/// The social sets: PostgreSQL holds them (the source of truth, written first), Redis holds
/// a set per repository and per user for counts, membership and intersections ("people you
/// follow who starred this") without a query. `cairnctl rebuild-sets` rebuilds Redis from
/// PostgreSQL; a Redis failure after the PostgreSQL write leaves the sets behind until then
/// (and is logged), never the source. While Redis does not answer, reads come from
/// PostgreSQL (`SocialGraph+PostgreSQL`).
public struct SocialGraph: Sendable {
    public let client: PostgresClient
    public let redis: RedisClient
    public let namespace: String
    public let logger: Logger
    /// What an anonymous visitor sees of each repository (two counts, the same for all of
    /// them), kept for a second: the most viewed pages then cost no Redis call. A star or
    /// watch recorded through this process forgets its repository's at once; one recorded
    /// through another gateway shows within the second.
    private let anonymousSummaries: RecentValues<Int64, RepositorySocial>

    /// `anonymousLifetime`: how long an anonymous visitor's summary is kept.
    public init(client: PostgresClient, redis: RedisClient, namespace: String, logger: Logger, anonymousLifetime: Duration = .seconds(1)) {
        self.client = client
        self.redis = redis
        self.namespace = namespace
        self.logger = logger
        anonymousSummaries = RecentValues(lifetime: anonymousLifetime)
    }

    /// Records that `subject` stars/watches/follows `object`.
    public func add(_ relation: SocialRelation, subject: Int64, object: Int64) async throws {
        let table = relation.table
        try await client.run(
            "INSERT INTO \(unescaped: table.name) (\(unescaped: table.subject), \(unescaped: table.object)) VALUES (\(subject), \(object)) ON CONFLICT DO NOTHING",
            logger: logger)
        await mirror("SADD", relation, subject: subject, object: object)
        if relation != .follow { anonymousSummaries.forget(object) }
    }

    public func remove(_ relation: SocialRelation, subject: Int64, object: Int64) async throws {
        let table = relation.table
        try await client.run(
            "DELETE FROM \(unescaped: table.name) WHERE \(unescaped: table.subject) = \(subject) AND \(unescaped: table.object) = \(object)", logger: logger)
        await mirror("SREM", relation, subject: subject, object: object)
        if relation != .follow { anonymousSummaries.forget(object) }
    }

    public func contains(_ relation: SocialRelation, subject: Int64, object: Int64) async throws -> Bool {
        try await readThrough("contains") {
            try await redis.send("SISMEMBER", "\(relation.keys(namespace).bySubjects):\(object)", String(subject)).int == 1
        } fromDatabase: {
            try await databaseContains(relation, subject: subject, object: object)
        }
    }

    /// How many subjects an object has (stargazers, watchers, followers).
    public func count(_ relation: SocialRelation, of object: Int64) async throws -> Int {
        try await readThrough("count") {
            try await redis.send("SCARD", "\(relation.keys(namespace).bySubjects):\(object)").int ?? 0
        } fromDatabase: {
            try await databaseCount(relation, of: object)
        }
    }

    /// The subjects of an object (who starred or watches a repository, who follows a user).
    public func subjects(_ relation: SocialRelation, of object: Int64) async throws -> [Int64] {
        try await readThrough("subjects") {
            ids(try await redis.send("SMEMBERS", "\(relation.keys(namespace).bySubjects):\(object)"))
        } fromDatabase: {
            try await databaseSubjects(relation, of: object)
        }
    }

    /// The objects of a subject (what a user starred or watches, whom a user follows).
    public func objects(_ relation: SocialRelation, of subject: Int64) async throws -> [Int64] {
        try await readThrough("objects") {
            ids(try await redis.send("SMEMBERS", "\(relation.keys(namespace).byObjects):\(subject)"))
        } fromDatabase: {
            try await databaseObjects(relation, of: subject)
        }
    }

    /// What a repository page shows of the social sets, in one round trip: star and watcher
    /// counts, whether the visitor stars and watches it, and which people the visitor follows
    /// starred it.
    public func summary(repository: Int64, visitor: Int64?) async throws -> RepositorySocial {
        guard visitor == nil else { return try await readSummary(repository: repository, visitor: visitor) }
        if let kept = anonymousSummaries.kept(repository) { return kept }
        let summary = try await readSummary(repository: repository, visitor: nil)
        anonymousSummaries.keep(repository, summary)
        return summary
    }

    private func readSummary(repository: Int64, visitor: Int64?) async throws -> RepositorySocial {
        let stargazers = "\(SocialRelation.star.keys(namespace).bySubjects):\(repository)"
        let watchers = "\(SocialRelation.watch.keys(namespace).bySubjects):\(repository)"
        let following = "\(SocialRelation.follow.keys(namespace).byObjects):\(visitor ?? 0)"
        let reply: [RedisValue]
        do {
            reply = try await redis.send(["EVAL", Self.summaryScript, "3", stargazers, watchers, following, visitor.map(String.init) ?? ""]).array
        } catch {
            logger.warning("social_sets.unavailable", metadata: ["social.read": "summary", "error": "\(error)"])
            return try await databaseSummary(repository: repository, visitor: visitor)
        }
        guard reply.count == 5 else { return RepositorySocial(stars: 0, watchers: 0, starred: false, watching: false, followedStargazers: []) }
        return RepositorySocial(
            stars: reply[0].int ?? 0, watchers: reply[1].int ?? 0, starred: reply[2].int == 1, watching: reply[3].int == 1,
            followedStargazers: ids(reply[4]))
    }

    private static let summaryScript = """
        local stars = redis.call('SCARD', KEYS[1])
        local watchers = redis.call('SCARD', KEYS[2])
        if ARGV[1] == '' then return {stars, watchers, 0, 0, {}} end
        return {stars, watchers, redis.call('SISMEMBER', KEYS[1], ARGV[1]), redis.call('SISMEMBER', KEYS[2], ARGV[1]), redis.call('SINTER', KEYS[3], KEYS[1])}
        """

    /// What a profile page shows of the follow sets, in one round trip: the user's follower
    /// and following counts, and whether the visitor follows the user.
    public func profile(user: Int64, visitor: Int64?) async throws -> ProfileSocial {
        let keys = SocialRelation.follow.keys(namespace)
        let reply: [RedisValue]
        do {
            reply = try await redis.send([
                "EVAL", Self.profileScript, "2", "\(keys.bySubjects):\(user)", "\(keys.byObjects):\(user)", visitor.map(String.init) ?? "",
            ]).array
        } catch {
            logger.warning("social_sets.unavailable", metadata: ["social.read": "profile", "error": "\(error)"])
            return try await databaseProfile(user: user, visitor: visitor)
        }
        guard reply.count == 3 else { return ProfileSocial(followers: 0, following: 0, isFollowing: false) }
        return ProfileSocial(followers: reply[0].int ?? 0, following: reply[1].int ?? 0, isFollowing: reply[2].int == 1)
    }

    private static let profileScript = """
        local following = 0
        if ARGV[1] ~= '' then following = redis.call('SISMEMBER', KEYS[1], ARGV[1]) end
        return {redis.call('SCARD', KEYS[1]), redis.call('SCARD', KEYS[2]), following}
        """

    /// Replaces every Redis set of every relation with what PostgreSQL holds; returns the
    /// number of pairs written. Each set is filled under a staging key and renamed over the
    /// old one, so readers see the old set or the new one, never an empty one; sets no row
    /// backs any more are deleted. A star given while it runs may need another rebuild.
    @discardableResult
    public func rebuild() async throws -> Int {
        var written = 0
        // Each set is renamed away once filled, so this is empty from here on unless an
        // earlier rebuild stopped half-way.
        let staging = "\(namespace):social:rebuilding"
        try await redis.send("DEL", staging)
        for relation in SocialRelation.allCases {
            let keys = relation.keys(namespace)
            let table = relation.table
            let rows = try await client.run(
                "SELECT \(unescaped: table.subject), \(unescaped: table.object) FROM \(unescaped: table.name) ORDER BY 1, 2", logger: logger)
            var sets: [String: [String]] = [:]
            for try await (subject, object) in rows.decode((Int64, Int64).self) {
                sets["\(keys.bySubjects):\(object)", default: []].append(String(subject))
                sets["\(keys.byObjects):\(subject)", default: []].append(String(object))
                written += 1
            }
            for (key, members) in sets {
                for start in stride(from: 0, to: members.count, by: 1000) {
                    try await redis.send(["SADD", staging] + members[start..<min(start + 1000, members.count)])
                }
                try await redis.send("RENAME", staging, key)
            }
            for pattern in [keys.bySubjects, keys.byObjects] {
                let stale = try await self.keys(matching: "\(pattern):*").filter { sets[$0] == nil }
                try await delete(stale)
            }
        }
        return written
    }

    /// The pairs of a relation that PostgreSQL and Redis disagree on (for `cairnctl check`):
    /// missing from Redis, and in Redis only.
    public func differences(_ relation: SocialRelation) async throws -> (missing: Int, extra: Int) {
        let table = relation.table
        let rows = try await client.run("SELECT \(unescaped: table.subject), \(unescaped: table.object) FROM \(unescaped: table.name)", logger: logger)
        var truth: Set<String> = []
        for try await (subject, object) in rows.decode((Int64, Int64).self) { truth.insert("\(subject):\(object)") }
        var mirrored: Set<String> = []
        let prefix = relation.keys(namespace).bySubjects + ":"
        for key in try await keys(matching: "\(prefix)*") {
            guard let object = Int64(key.dropFirst(prefix.count)) else { continue }
            for subject in ids(try await redis.send("SMEMBERS", key)) { mirrored.insert("\(subject):\(object)") }
        }
        return (truth.subtracting(mirrored).count, mirrored.subtracting(truth).count)
    }

    private func mirror(_ command: String, _ relation: SocialRelation, subject: Int64, object: Int64) async {
        let keys = relation.keys(namespace)
        do {
            try await redis.send(command, "\(keys.bySubjects):\(object)", String(subject))
            try await redis.send(command, "\(keys.byObjects):\(subject)", String(object))
        } catch {
            logger.warning("social_sets.out_of_step", metadata: ["relation": "\(relation.rawValue)", "error": "\(error)", "fix": "cairnctl rebuild-sets"])
        }
    }

    private func keys(matching pattern: String) async throws -> [String] {
        var cursor = "0"
        var found: [String] = []
        repeat {
            let reply = try await redis.send("SCAN", cursor, "MATCH", pattern, "COUNT", "1000").array
            guard reply.count == 2, let next = reply[0].string else { break }
            cursor = next
            found += reply[1].array.compactMap(\.string)
        } while cursor != "0"
        return found
    }

    private func delete(_ keys: [String]) async throws {
        for start in stride(from: 0, to: keys.count, by: 500) {
            try await redis.send(["DEL"] + keys[start..<min(start + 500, keys.count)])
        }
    }

    private func ids(_ value: RedisValue) -> [Int64] {
        value.array.compactMap { $0.string.flatMap { Int64($0) } }.sorted()
    }
}
