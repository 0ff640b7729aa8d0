import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

@Suite(.timeLimit(.minutes(5))) struct WorkerTaskTests {
    @Test func test_pushLeadsToMaintenanceThatWritesCommitGraphAndBitmap() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "maintained")
            let work = try await stack.makeWorkingCopy("maintained", commits: 4)
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work)
            let path = stack.repositoryPath(repository.id)
            let maintained = await eventually(timeout: .seconds(20)) {
                let packs = (try? FileManager.default.contentsOfDirectory(atPath: "\(path)/objects/pack")) ?? []
                let graph = FileManager.default.fileExists(atPath: "\(path)/objects/info/commit-graph")
                return graph && packs.contains { $0.hasSuffix(".bitmap") }
            }
            #expect(maintained)
            try await stack.git(["clone", "--quiet", stack.cloneURL(repository.fullName), "\(stack.folder)/after-maintenance"])
        }
    }

    @Test func test_deletedRepositoryFilesGoAfterTheCommitAndStayOnRollback() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            let kept = try await stack.makeRepository(ada, "kept")
            let doomed = try await stack.makeRepository(ada, "doomed")
            #expect(FileManager.default.fileExists(atPath: stack.repositoryPath(doomed.id)))

            // A deletion whose transaction rolls back: the row and the files stay.
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            let outbox = Outbox(client: stack.database, redis: redis, namespace: stack.configuration.redisNamespace, logger: TestEnvironment.logger)
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await outbox.transaction { transaction in
                    try await stack.repositories.markDeleted(kept, in: transaction)
                    throw Abort()
                }
            }
            await redis.shutdown()

            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/doomed", as: ada).0 == 204)
            #expect(await eventually(timeout: .seconds(10)) { !FileManager.default.fileExists(atPath: stack.repositoryPath(doomed.id)) })
            #expect(FileManager.default.fileExists(atPath: stack.repositoryPath(kept.id)))
            #expect(try await stack.repositories.find(id: kept.id) != nil)
        }
    }

    @Test func test_unknownTaskKindIsDeadLetteredWithItsReason() async throws {
        try await CairnStack.with(worker: true) { stack in
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            let queue = ReliableQueue(redis: redis, name: QueueName.maintenance.rawValue, namespace: stack.configuration.redisNamespace)
            try await queue.enqueue(TaskEnvelope(kind: "no.such.kind", id: "mystery"))
            #expect(try await eventually(timeout: .seconds(10)) { try await queue.deadCount() == 1 })
            let letter = try #require(try await queue.deadLetters().first)
            #expect(letter.task.id == "mystery")
            #expect(letter.reason.contains("unknown task kind"))
            await redis.shutdown()
        }
    }
}
