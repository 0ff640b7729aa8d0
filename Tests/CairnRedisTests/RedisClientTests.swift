import CairnRedis
import CairnTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct RedisClientTests {
    @Test func test_commandsRoundTripBinarySafely() async throws {
        try await withTestRedis { redis, namespace in
            let bytes: [UInt8] = [0, 1, 2, 255, 0, 10, 13]
            try await redis.send([Array("SET".utf8), Array("\(namespace):bin".utf8), bytes])
            #expect(try await redis.send("GET", "\(namespace):bin") == .bulk(bytes))
            #expect(try await redis.send("GET", "\(namespace):missing") == .null)
            #expect(try await redis.send("INCR", "\(namespace):n") == .integer(1))
            #expect(try await redis.send("PING") == .status("PONG"))
        }
    }

    @Test func test_errorsNameTheCommandThatFailed() async throws {
        try await withTestRedis { redis, namespace in
            try await redis.send("SET", "\(namespace):text", "hello")
            do throws(RedisError) {
                try await redis.send("INCR", "\(namespace):text")
                Issue.record("INCR of a string should fail")
            } catch {
                #expect(error.description.contains("INCR"))
                guard case .command(let command, _) = error else { Issue.record("expected a command error, got \(error)"); return }
                #expect(command == "INCR")
            }
            // The connection that answered with an error is still good.
            #expect(try await redis.send("GET", "\(namespace):text").string == "hello")
        }
    }

    @Test func test_droppedConnectionIsReestablished() async throws {
        let redis = RedisClient(configuration: RedisConfiguration(url: TestEnvironment.required("REDIS_URL"), poolSize: 1)!, logger: TestEnvironment.logger)
        let key = TestEnvironment.uniqueName("dropped")
        try await redis.send("SET", key, "v")
        // The server closes our one connection, as a restart or an idle time-out would.
        let id = try #require(try await redis.send("CLIENT", "ID").int)
        let admin = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
        try await admin.send("CLIENT", "KILL", "ID", String(id))
        #expect(try await redis.send("GET", key).string == "v")
        #expect(try await redis.send("CLIENT", "ID").int != id)
        try await redis.send("DEL", key)
        await admin.shutdown()
        await redis.shutdown()
    }

    @Test func test_unreachableServerIsReportedWithItsAddress() async throws {
        let redis = RedisClient(configuration: RedisConfiguration(host: "127.0.0.1", port: 1, poolSize: 2), logger: TestEnvironment.logger)
        await #expect(throws: RedisError.self) { try await redis.send("PING") }
        do throws(RedisError) { try await redis.send("PING") } catch { #expect(error.description.contains("127.0.0.1:1")) }
        await redis.shutdown()
    }

    @Test func test_manyConcurrentCallersShareASmallPool() async throws {
        let redis = RedisClient(configuration: RedisConfiguration(url: TestEnvironment.required("REDIS_URL"), poolSize: 3)!, logger: TestEnvironment.logger)
        let namespace = TestEnvironment.uniqueName("pool")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 { group.addTask { try await redis.send("INCR", "\(namespace):count") } }
            try await group.waitForAll()
        }
        #expect(try await redis.send("GET", "\(namespace):count").int == 200)
        try await redis.send("DEL", "\(namespace):count")
        await redis.shutdown()
    }

    @Test func test_configurationReadsRedisURLs() {
        #expect(RedisConfiguration(url: "redis://:secret@cache.internal:6380/2") == RedisConfiguration(host: "cache.internal", port: 6380, database: 2, password: "secret"))
        #expect(RedisConfiguration(url: "http://x") == nil)
        #expect(RedisConfiguration(url: "redis://host/notanumber") == nil)
    }
}
