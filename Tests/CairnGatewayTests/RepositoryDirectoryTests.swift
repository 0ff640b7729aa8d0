import CairnModel
import CairnTestSupport
import Foundation
import NIOHTTP1
import PostgresNIO
import Testing

/// The gateway keeps anonymous callers' repository lookups in memory and forgets them when
/// PostgreSQL announces a change, when a request through it may have written, and when its
/// listening connection is lost.
@Suite(.timeLimit(.minutes(5))) struct RepositoryDirectoryTests {
    @Test func test_lookupsAreKeptUntilAChangeIsAnnouncedOrTheListenerIsLost() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "site")
            let anonymous = WebSession(stack.gatewayURL)
            @Sendable func status() async throws -> Int { try await anonymous.get("/ada/site").status }
            /// Runs `sql` with the announcing trigger off (in this test's schema only).
            @Sendable func quietly(_ sql: String) async throws {
                try await stack.database.withConnection { connection in
                    _ = try await connection.query("ALTER TABLE repositories DISABLE TRIGGER repositories_directory", logger: TestEnvironment.logger)
                    _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: TestEnvironment.logger)
                    _ = try await connection.query("ALTER TABLE repositories ENABLE TRIGGER repositories_directory", logger: TestEnvironment.logger)
                }
            }
            /// Whether a lookup is served from the gateway's copy: made public (announced, so
            /// nothing older is kept) and looked up, then made private quietly, the repository
            /// still shows.
            @Sendable func servedFromCopy() async throws -> Bool {
                _ = try await stack.database.query("UPDATE repositories SET is_private = false WHERE id = \(repository.id)", logger: TestEnvironment.logger)
                guard try await status() == 200 else { return false }
                try await quietly("UPDATE repositories SET is_private = true WHERE id = \(repository.id)")
                return try await status() == 200
            }
            // Once the gateway listens (from its start), a change PostgreSQL does not announce is
            // not seen.
            #expect(try await eventually { try await servedFromCopy() })
            // Once the listening connection is lost, nothing kept is trusted.
            _ = try await stack.database.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cairn-gateway directory'", logger: TestEnvironment.logger)
            #expect(try await eventually { try await status() == 404 })
            // It listens again.
            #expect(try await eventually { try await servedFromCopy() })

            // An announced change shows without anyone writing through the gateway: the
            // repository's row, its owner's name.
            try await stack.repositories.update(repository.id, name: nil, description: nil, isPrivate: false, defaultBranch: nil)
            #expect(try await eventually { try await status() == 200 })
            _ = try await stack.database.query("UPDATE users SET username = 'ada2' WHERE id = \(ada.user.id)", logger: TestEnvironment.logger)
            #expect(try await eventually { try await status() == 404 })
            #expect(try await anonymous.get("/ada2/site").status == 200)
            _ = try await stack.database.query("UPDATE users SET username = 'ada' WHERE id = \(ada.user.id)", logger: TestEnvironment.logger)
            #expect(try await eventually { try await status() == 200 })

            // Requests that cannot write (anonymous, even by POST) do not empty it.
            #expect(try await eventually { try await servedFromCopy() })
            _ = try await anonymous.post("/ada/site/star", [:])
            #expect(try await status() == 200, "still the kept copy")

            // Private repositories are never kept: their owner sees a quiet change at once.
            let owner = try await WebPagesTests.signIn(stack, ada)
            try await quietly("UPDATE repositories SET is_private = true, description = 'before' WHERE id = \(repository.id)")
            #expect(try await owner.get("/ada/site/settings").body.contains("before"))
            try await quietly("UPDATE repositories SET description = 'after' WHERE id = \(repository.id)")
            #expect(try await owner.get("/ada/site/settings").body.contains("after"))

            // A change through the gateway shows on its very next request, to anyone.
            #expect(try await eventually { try await servedFromCopy() })
            try await quietly("UPDATE repositories SET is_private = false WHERE id = \(repository.id)")
            #expect(try await status() == 200)
            #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/site", as: ada, json: #"{"private": true}"#).0 == 200)
            #expect(try await status() == 404)
            // Signed-in callers never read the gateway's copies.
            #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/site", as: ada, json: #"{"private": false}"#).0 == 200)
            #expect(try await eventually { try await servedFromCopy() })
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/site", as: ada).1.contains(#""private":true"#))
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/site").0 == 200, "anonymous: the kept copy")
        }
    }
}
