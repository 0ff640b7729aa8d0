import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import CairnSigning
import CairnTestSupport
import Foundation
import NIOHTTP1
import PostgresNIO
import Testing

/// `cairnctl check` over a real stack: silent when all is well, then finding each kind of
/// damage the test causes, and `--repair` fixing what it safely can.
@Suite(.timeLimit(.minutes(5))) struct IntegrityCheckTests {
    @Test func test_checkFindsEachKindOfDamageAndRepairsWhatItMay() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let kept = try await stack.makeRepository(ada, "kept")
            let lost = try await stack.makeRepository(ada, "lost")
            let web = try await WebPagesTests.signIn(stack, ada)
            try await web.get("/ada/kept/downloads")
            #expect(try await web.upload("/ada/kept/downloads", filename: "tool.zip", Array("tool\n".utf8)).status == 303)
            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/kept", as: bob).0 == 204)
            let clean = try await stack.cairnctl(["check"])
            #expect(clean.status == 0 && clean.output.contains("everything is in order"), "\(clean.output)")

            // The damage: files gone and files left over, a blob gone, a task stuck in the
            // outbox, a dead letter, and Redis forgetting a star.
            try FileManager.default.removeItem(atPath: stack.repositoryPath(lost.id))
            try await stack.git(["init", "--quiet", "--bare", "\(stack.configuration.repositoryRoot)/987654.git"])
            let blob = try #require(try await RepositoryBlobStore(client: stack.database, logger: TestEnvironment.logger).find(repositoryID: kept.id, use: .download, name: "tool.zip"))
            let blobstore = InternalClient(.blobstore, baseURL: stack.configuration.listener(.blobstore).url, signature: InternalSignature(signer: try Signer(key: stack.configuration.signingKey)))
            #expect(try await blobstore.send(.DELETE, "/blobs/\(blob.sha256)").status == .noContent)
            let payload = String(decoding: try CairnJSON.encode(TaskEnvelope(kind: "push", id: "stuck")), as: UTF8.self)
            try await stack.database.query(
                "INSERT INTO task_outbox (id, queue, payload, created_at) VALUES (\(UUID()), 'default', \(payload), now() - interval '5 minutes')",
                logger: TestEnvironment.logger)
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            let namespace = stack.configuration.redisNamespace
            try await redis.send("LPUSH", ReliableQueue(redis: redis, name: "webhooks", namespace: namespace).keys.dead, "{}")
            try await redis.send("DEL", "\(namespace):social:stargazers:\(kept.id)")

            let found = try await stack.cairnctl(["check"])
            #expect(found.status == 1)
            for expected in [
                "PROBLEM  repository not on disk: ada/lost (id \(lost.id))", "PROBLEM  repository on disk without a record: 987654.git",
                "PROBLEM  blob referenced but missing: \(blob.sha256), used by ada/kept download tool.zip", "PROBLEM  outbox rows older than a minute: 1 rows",
                "PROBLEM  dead letters: 1 in webhooks", "PROBLEM  social sets out of step: star: 1 missing from Redis", "6 problems found",
            ] {
                #expect(found.output.contains(expected), "\(expected)\n\(found.output)")
            }

            let repaired = try await stack.cairnctl(["check", "--repair"])
            #expect(repaired.status == 1)
            #expect(repaired.output.contains("REPAIRED outbox rows older than a minute") && repaired.output.contains("REPAIRED social sets out of step"), "\(repaired.output)")
            #expect(repaired.output.contains("4 problems found"))
            let after = try await stack.cairnctl(["check"])
            #expect(!after.output.contains("outbox") && !after.output.contains("social sets") && after.output.contains("4 problems found"), "\(after.output)")
            #expect(try await stack.api(.GET, "/api/v3/user/starred/ada/kept", as: bob).0 == 204)
        }
    }
}
