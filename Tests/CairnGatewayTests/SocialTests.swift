import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Stars and follows through GitHub's API and the pages, counted from Redis sets that
/// `cairnctl rebuild-sets` restores from PostgreSQL.
@Suite(.timeLimit(.minutes(5))) struct SocialTests {
    @Test func test_starsAndFollowsThroughTheAPI() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let eve = try await stack.makeUser("eve")
            let reader = try await stack.makeUser("reader", scopes: [.repoRead])
            try await stack.makeRepository(ada, "kit")
            try await stack.makeRepository(ada, "vault", isPrivate: true)

            #expect(try await stack.api(.GET, "/api/v3/user/starred/ada/kit", as: bob).0 == 404)
            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/kit", as: bob).0 == 204)
            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/kit", as: bob).0 == 204)  // idempotent
            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/kit", as: eve).0 == 204)
            #expect(try await stack.api(.GET, "/api/v3/user/starred/ada/kit", as: bob).0 == 204)
            let (status, body) = try await stack.api(.GET, "/api/v3/repos/ada/kit/stargazers")
            #expect(status == 200 && body.contains(#""login":"bob""#) && body.contains(#""login":"eve""#))
            let page = try await stack.apiWithHeaders(.GET, "/api/v3/repos/ada/kit/stargazers?per_page=1")
            #expect(page.2.contains(#""login":"bob""#) && !page.2.contains("eve") && page.1.first(name: "Link")?.contains("rel=\"next\"") == true)
            #expect(try await stack.api(.DELETE, "/api/v3/user/starred/ada/kit", as: eve).0 == 204)
            #expect(try await stack.api(.GET, "/api/v3/user/starred/ada/kit", as: eve).0 == 404)

            // Private repositories are invisible to outsiders; anonymous callers must sign in;
            // a read-only token cannot change stars.
            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/vault", as: bob).0 == 404)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/vault/stargazers", as: bob).0 == 404)
            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/kit").0 == 401)
            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/kit", as: reader).0 == 403)

            #expect(try await stack.api(.PUT, "/api/v3/user/following/ada", as: bob).0 == 204)
            #expect(try await stack.api(.PUT, "/api/v3/user/following/ada", as: eve).0 == 204)
            #expect(try await stack.api(.PUT, "/api/v3/user/following/bob", as: bob).0 == 422)
            #expect(try await stack.api(.PUT, "/api/v3/user/following/nobody", as: bob).0 == 404)
            #expect(try await stack.api(.GET, "/api/v3/user/following/ada", as: bob).0 == 204)
            let followers = try await stack.api(.GET, "/api/v3/users/ada/followers").1
            #expect(followers.contains(#""login":"bob""#) && followers.contains(#""login":"eve""#))
            #expect(try await stack.api(.GET, "/api/v3/users/bob/following").1.contains(#""login":"ada""#))
            #expect(try await stack.api(.DELETE, "/api/v3/user/following/ada", as: eve).0 == 204)
            #expect(!(try await stack.api(.GET, "/api/v3/users/ada/followers").1.contains("eve")))
        }
    }

    @Test func test_pagesShowCountsAndWhoYouFollowStarredAndRebuildRestoresLostSets() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let cy = try await stack.makeUser("cy")
            try await stack.makeRepository(ada, "kit")
            let web = try await WebPagesTests.signIn(stack, cy)
            try await web.get("/bob")
            #expect(try await web.post("/bob/follow", [:]).status == 303)
            let profile = try await web.get("/bob")
            #expect(profile.body.contains(#"<span id="followers">1</span>"#) && profile.body.contains("Unfollow"))
            let own = try await web.get("/cy")
            #expect(own.body.contains(#"<span id="following">1</span>"#) && !own.body.contains(#"id="follow""#))
            let anonymous = try await WebSession(stack.gatewayURL).get("/bob")
            #expect(anonymous.body.contains(#"<span id="followers">1</span>"#) && !anonymous.body.contains(#"id="follow""#))
            #expect(try await web.post("/cy/follow", [:]).status == 422)

            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/kit", as: bob).0 == 204)
            try await web.get("/ada/kit")
            #expect(try await web.post("/ada/kit/star", [:]).status == 303)
            let home = try await web.get("/ada/kit")
            #expect(home.body.contains(#"<span class="count" id="stars">2</span>"#) && home.body.contains("Unstar"))
            #expect(home.body.contains(#"id="followed-stargazers""#) && home.body.contains("Starred by bob, whom you follow"))
            #expect(try await WebSession(stack.gatewayURL).get("/ada/kit").body.contains("★ 2"))

            // Redis loses the sets; the pages count nothing until the sets are rebuilt.
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            let social = SocialGraph(client: stack.database, redis: redis, namespace: stack.configuration.redisNamespace, logger: TestEnvironment.logger)
            let repository = try #require(try await stack.repositories.find(owner: "ada", name: "kit"))
            try await redis.send("DEL", "\(stack.configuration.redisNamespace):social:stargazers:\(repository.id)")
            #expect(try await social.count(.star, of: repository.id) == 0)
            #expect(try await social.differences(.star).missing == 2)
            // …and holds what no row backs: a watcher too many, a set for a repository with no stars.
            let namespace = stack.configuration.redisNamespace
            try await redis.send("SADD", "\(namespace):social:watchers:\(repository.id)", "424242")
            try await redis.send("SADD", "\(namespace):social:stargazers:987654", "1")
            #expect(try await social.differences(.watch).extra == 1)
            let rebuilt = try await stack.cairnctl(["rebuild-sets"])
            #expect(rebuilt.status == 0 && rebuilt.output.contains("3 stars, watches and follows"), "\(rebuilt.output)")
            #expect(try await social.count(.star, of: repository.id) == 2)
            #expect(try await social.differences(.star) == (0, 0))
            #expect(try await social.differences(.watch) == (0, 0))
            #expect(try await redis.send("EXISTS", "\(namespace):social:stargazers:987654").int == 0)
            #expect(try await web.get("/ada/kit").body.contains(#"id="stars">2<"#))
        }
    }

    /// What an anonymous visitor sees is kept for a while (a second in the gateway); a
    /// signed-in visitor's summary never is, and a star through the same process shows at once.
    @Test func test_anAnonymousSummaryIsKeptUntilAStarThroughThisProcess() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let repository = try await stack.makeRepository(ada, "kit")
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            let namespace = stack.configuration.redisNamespace
            let social = SocialGraph(client: stack.database, redis: redis, namespace: namespace, logger: TestEnvironment.logger, anonymousLifetime: .seconds(600))
            #expect(try await social.summary(repository: repository.id, visitor: nil).stars == 0)
            // A star recorded by another process (another gateway) waits for the kept summary to expire.
            try await redis.send("SADD", "\(namespace):social:stargazers:\(repository.id)", String(bob.user.id))
            #expect(try await social.summary(repository: repository.id, visitor: nil).stars == 0)
            #expect(try await social.summary(repository: repository.id, visitor: ada.user.id).stars == 1)
            try await social.add(.star, subject: ada.user.id, object: repository.id)
            #expect(try await social.summary(repository: repository.id, visitor: nil).stars == 2)
            try await social.remove(.star, subject: ada.user.id, object: repository.id)
            #expect(try await social.summary(repository: repository.id, visitor: nil).stars == 1)
            // Follows do not touch repositories' summaries.
            try await social.add(.follow, subject: ada.user.id, object: bob.user.id)
            try await redis.send("SADD", "\(namespace):social:watchers:\(repository.id)", String(bob.user.id))
            #expect(try await social.summary(repository: repository.id, visitor: nil).watchers == 0)
        }
    }
}
