import CairnDatabase
import CairnRedis
import Logging
import PostgresNIO

/// The social figures read from PostgreSQL, the source of truth, for when Redis does not
/// answer: pages show the same figures, a few queries slower, instead of failing.
extension SocialGraph {
    /// `fromRedis`, or `fromDatabase` when Redis fails.
    func readThrough<T>(_ what: String, fromRedis: () async throws -> T, fromDatabase: () async throws -> T) async throws -> T {
        do {
            return try await fromRedis()
        } catch let error as RedisError {
            logger.warning("social_sets.unavailable", metadata: ["social.read": "\(what)", "error": "\(error)"])
            return try await fromDatabase()
        }
    }

    func databaseContains(_ relation: SocialRelation, subject: Int64, object: Int64) async throws -> Bool {
        let table = relation.table
        let rows = try await client.run(
            "SELECT 1 FROM \(unescaped: table.name) WHERE \(unescaped: table.subject) = \(subject) AND \(unescaped: table.object) = \(object)", logger: logger)
        return try await rows.count() > 0
    }

    func databaseCount(_ relation: SocialRelation, of object: Int64) async throws -> Int {
        let table = relation.table
        let rows = try await client.run("SELECT count(*) FROM \(unescaped: table.name) WHERE \(unescaped: table.object) = \(object)", logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    func databaseSubjects(_ relation: SocialRelation, of object: Int64) async throws -> [Int64] {
        let table = relation.table
        let rows = try await client.run(
            "SELECT \(unescaped: table.subject) FROM \(unescaped: table.name) WHERE \(unescaped: table.object) = \(object) ORDER BY 1", logger: logger)
        return try await ids(rows)
    }

    func databaseObjects(_ relation: SocialRelation, of subject: Int64) async throws -> [Int64] {
        let table = relation.table
        let rows = try await client.run(
            "SELECT \(unescaped: table.object) FROM \(unescaped: table.name) WHERE \(unescaped: table.subject) = \(subject) ORDER BY 1", logger: logger)
        return try await ids(rows)
    }

    func databaseSummary(repository: Int64, visitor: Int64?) async throws -> RepositorySocial {
        async let stars = databaseCount(.star, of: repository)
        async let watchers = databaseCount(.watch, of: repository)
        guard let visitor else {
            return RepositorySocial(stars: try await stars, watchers: try await watchers, starred: false, watching: false, followedStargazers: [])
        }
        let followed = try await client.run(
            """
            SELECT s.user_id FROM stars s JOIN follows f ON f.followee_id = s.user_id
            WHERE s.repository_id = \(repository) AND f.follower_id = \(visitor) ORDER BY 1
            """, logger: logger)
        return RepositorySocial(
            stars: try await stars, watchers: try await watchers,
            starred: try await databaseContains(.star, subject: visitor, object: repository),
            watching: try await databaseContains(.watch, subject: visitor, object: repository),
            followedStargazers: try await ids(followed))
    }

    func databaseProfile(user: Int64, visitor: Int64?) async throws -> ProfileSocial {
        var isFollowing = false
        if let visitor { isFollowing = try await databaseContains(.follow, subject: visitor, object: user) }
        return ProfileSocial(
            followers: try await databaseCount(.follow, of: user), following: try await databaseObjects(.follow, of: user).count, isFollowing: isFollowing)
    }

    private func ids(_ rows: PostgresRowSequence) async throws -> [Int64] {
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        return ids
    }
}
