import CairnProtocol
import CairnRedis
import CairnTestSupport
import Foundation
import Testing

/// Publishing analytics events never blocks or fails the caller: events are buffered and
/// pushed in the background; when Redis is unreachable they are counted as dropped.
@Suite(.timeLimit(.minutes(5))) struct EventPublisherTests {
    @Test func test_emittedEventsReachTheListInOnePush() async throws {
        try await withTestRedis { redis, namespace in
            let publisher = EventPublisher(redis: redis, namespace: namespace, logger: TestEnvironment.logger)
            for index in 0..<3 { publisher.emit(EventEnvelope(type: "repo.view", repoID: Int64(index + 1))) }
            #expect(try await redis.send("LLEN", publisher.key).int == 0)
            await publisher.flush()
            let stored = try await redis.send("LRANGE", publisher.key, "0", "-1").array.compactMap(\.bytes)
            let events = try stored.map { try CairnJSON.decode(EventEnvelope.self, from: Data($0)) }
            #expect(Set(events.compactMap(\.repoID)) == [1, 2, 3])
            #expect(publisher.dropped == 0)
        }
    }

    @Test func test_whenRedisIsDownEmittingReturnsAtOnceAndEventsAreCountedAsDropped() async throws {
        // A port nothing listens on.
        let down = RedisClient(configuration: RedisConfiguration(url: "redis://127.0.0.1:1/0", poolSize: 1)!, logger: TestEnvironment.logger)
        let publisher = EventPublisher(redis: down, namespace: "down", logger: TestEnvironment.logger, capacity: 5)
        let started = ContinuousClock.now
        for _ in 0..<8 { publisher.emit(EventEnvelope(type: "repo.view", repoID: 1)) }
        // Emitting touched no network: it cannot have waited on a connection.
        #expect(ContinuousClock.now - started < .milliseconds(200))
        // Three did not fit in the buffer; the five that did are lost with the flush.
        #expect(publisher.dropped == 3)
        await publisher.flush()
        #expect(publisher.dropped == 8)
        await down.shutdown()
    }
}
