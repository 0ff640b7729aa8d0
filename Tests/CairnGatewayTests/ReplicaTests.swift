import AsyncHTTPClient
import CairnDatabase
import CairnModel
import CairnTestSupport
import Foundation
import NIOHTTP1
import PostgresNIO
import Testing

/// The gateway over a real streaming replica: reads go to the replica, a session that wrote
/// reads its write back at once from the primary while others still read the replica, and a
/// replica that falls behind is skipped until it catches up.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ReplicaTests {
    @Test func test_readsUseTheReplicaExceptAfterYourOwnWriteOrWhenItLags() async throws {
        // Replay on the shared replica is paused below: one test at a time.
        try await CairnStack.with(replica: true, overrides: ["CAIRN_DATABASE_REPLICA_MAX_LAG_MILLISECONDS": "5000"]) { stack in
            let ada = try await stack.makeUser("ada", admin: true)
            let root = try await stack.makeUser("root", admin: true)
            try await stack.makeRepository(ada, "kit")
            let writer = try await WebPagesTests.signIn(stack, ada)
            let reader = try await WebPagesTests.signIn(stack, root)
            // Once the replica has the repository and the gateway trusts it, reads go there.
            #expect(try await eventually(timeout: .seconds(20)) {
                let page = try await reader.get("/ada/kit")
                return page.status == 200 && (ReplicaTests.replicaQueries(page.headers) ?? 0) > 0
            })

            let admin = PostgresClient(configuration: DatabaseConfiguration(url: TestEnvironment.required("REPLICA_ADMIN_URL"), poolSize: 1)!.client)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await admin.run() }
                defer { group.cancelAll() }
                try await admin.query("SELECT pg_wal_replay_pause()", logger: TestEnvironment.logger)
                do {
                    try await writer.get("/ada/kit/settings")
                    #expect(try await writer.post("/ada/kit/settings", ["name": "kit", "description": "Written just now", "visibility": "public"]).status == 303)
                    // The writer reads the write back (from the primary); the other reader's queries
                    // go to the paused replica, but the repository itself comes from the gateway's
                    // directory, which reads the primary and forgot its copy at the write.
                    let own = try await writer.get("/ada/kit/settings")
                    #expect(own.body.contains("Written just now"))
                    #expect(ReplicaTests.replicaQueries(own.headers) == 0)
                    let other = try await reader.get("/ada/kit/settings")
                    #expect(other.body.contains("Written just now") && (ReplicaTests.replicaQueries(other.headers) ?? 0) > 0)
                    // An API caller has no cookie: its writes are remembered under its user.
                    #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/kit", as: ada, json: #"{"description": "Via the API"}"#).0 == 200)
                    // (The token is looked up before the caller is known, on the replica; the
                    // repository, read after, comes from the primary: the replica has no such description.)
                    #expect(try await stack.api(.GET, "/api/v3/repos/ada/kit", as: ada).1.contains("Via the API"))

                    // Behind by more than the bound, the replica is skipped: everyone reads the primary.
                    // (The bound is five seconds, so that a loaded machine's slow requests above
                    // do not reach it before the other reader has read.)
                    #expect(try await eventually(timeout: .seconds(30)) {
                        let page = try await reader.get("/ada/kit/settings")
                        return page.body.contains("Via the API") && ReplicaTests.replicaQueries(page.headers) == 0
                    })
                } catch {
                    try? await admin.query("SELECT pg_wal_replay_resume()", logger: TestEnvironment.logger)
                    throw error
                }
                try await admin.query("SELECT pg_wal_replay_resume()", logger: TestEnvironment.logger)
            }
            // Caught up, it serves reads again.
            #expect(try await eventually(timeout: .seconds(20)) { (ReplicaTests.replicaQueries(try await reader.get("/ada/kit/settings").headers) ?? 0) > 0 })
        }
    }

    /// The number of queries a replica answered, from the `Server-Timing` header.
    /// The queries a replica answered, from `Server-Timing`; nil when the header is missing
    /// (so that "none" is never read off a broken header).
    static func replicaQueries(_ headers: HTTPHeaders) -> Int? {
        guard let value = headers.first(name: "Server-Timing") else { return nil }
        guard let range = value.range(of: #"replica;desc="\d+"#, options: .regularExpression) else { return 0 }
        return Int(value[range].dropFirst(#"replica;desc=""#.count))
    }
}
