import AsyncHTTPClient
import CairnDatabase
import CairnModel
import CairnProtocol
import CairnTestSupport
import Foundation
import NIOHTTP1
import PostgresNIO
import Testing

/// Every query the hot pages and API routes run is planned by PostgreSQL over a database
/// with realistic row counts (tens of thousands of users, repositories, stars), and none may
/// read a large table from end to end.
@Suite(.serialized, .timeLimit(.minutes(5))) struct QueryPlanTests {
    /// Tables big enough on a real site that a sequential scan of one is a bug, all filled
    /// below. (On tables left empty here, such as webhooks, a sequential scan is the right
    /// plan, so those are not judged.)
    static let largeTables = ["users", "repositories", "stars", "watches", "follows", "collaborators", "access_tokens", "repository_blobs", "error_reports"]

    @Test func test_noHotQueryScansALargeTable() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada", admin: true)
            try await stack.makeRepository(ada, "kit")
            let work = try await stack.makeWorkingCopy("kit", commits: 3)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/kit", credentials: "ada:\(ada.token)"), "main"], in: work)
            let logger = TestEnvironment.logger
            for statement in [
                """
                INSERT INTO users (username, email, password_hash, created_at)
                SELECT 'user' || n, 'user' || n || '@example.com', 'x', now() - n * interval '1 minute' FROM generate_series(1, 20000) n
                """,
                """
                INSERT INTO repositories (owner_id, name, is_private, created_at, pushed_at)
                SELECT u.id, 'repo' || s, s % 3 = 0, now() - s * interval '1 minute', now() - s * interval '1 minute'
                FROM users u, generate_series(1, 2) s WHERE u.username LIKE 'user%'
                """,
                "INSERT INTO stars (user_id, repository_id) SELECT u.id, r.id FROM users u JOIN repositories r ON r.owner_id = u.id + 1",
                "INSERT INTO watches (user_id, repository_id) SELECT user_id, repository_id FROM stars",
                "INSERT INTO follows (follower_id, followee_id) SELECT u.id, u.id + 1 FROM users u WHERE EXISTS (SELECT 1 FROM users v WHERE v.id = u.id + 1)",
                "INSERT INTO collaborators (repository_id, user_id, permission) SELECT r.id, r.owner_id + 1, 'read' FROM repositories r WHERE EXISTS (SELECT 1 FROM users v WHERE v.id = r.owner_id + 1)",
                "INSERT INTO access_tokens (user_id, name, token_hash, scopes) SELECT id, 'ci', md5(id::text), '{repo:read}' FROM users",
                "INSERT INTO repository_blobs (repository_id, kind, name, sha256, size) SELECT id, 'download', 'file-' || id, md5(id::text) || md5(id::text), 10 FROM repositories",
                """
                INSERT INTO error_reports (fingerprint, error_type, site, message, details, last_request, last_request_id, last_seen)
                SELECT md5(n::text), 'E', 'GET /', 'm', 'd', 'GET /', 'r', now() - n * interval '1 minute' FROM generate_series(1, 5000) n
                """,
                // Every table of this test's schema, by name: a bare ANALYZE would walk every schema
                // of the test database, and fail on the tables of a test that drops its schema meanwhile.
                """
                DO $$ DECLARE t text; BEGIN
                    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP EXECUTE format('ANALYZE %I', t); END LOOP;
                END $$
                """,
            ] {
                do {
                    try await stack.database.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                } catch {
                    // PSQLError's own description hides the server's message.
                    throw TestFailure("filling the tables failed: \(String(reflecting: error))\n\(statement)")
                }
            }

            let web: WebSession
            do {
                web = try await WebPagesTests.signIn(stack, ada)
            } catch {
                throw TestFailure("signing in failed: \(String(reflecting: error))")
            }
            // Only this stack's statements: its daemons' loggers carry its name.
            SQLLog.startCapturing { stack.owns($0) }
            let captured: [PostgresQuery]
            do {
                for path in [
                    "/", "/explore", "/explore?sort=pushed", "/ada", "/ada/kit", "/ada/kit/commits", "/ada/kit/branches", "/ada/kit/downloads",
                    "/ada/kit/settings", "/admin/errors", "/settings", "/user42", "/user42/repo1",
                ] {
                    // user42's repositories exist in the database only, not on disk: their
                    // page runs the same queries, then answers 404.
                    let status = try await web.get(path).status
                    #expect(status == (path == "/user42/repo1" ? 404 : 200), "\(path) answered \(status)")
                }
                for path in ["/api/v3/user", "/api/v3/user/repos", "/api/v3/users/user42/repos", "/api/v3/repos/ada/kit", "/api/v3/repos/ada/kit/stargazers", "/api/v3/users/user42/followers", "/api/v3/repos/ada/kit/collaborators"] {
                    let status = try await stack.api(.GET, path, as: ada).0
                    #expect(status == 200, "\(path) answered \(status)")
                }
                captured = SQLLog.stopCapturing()
            } catch {
                _ = SQLLog.stopCapturing()
                throw error
            }
            #expect(captured.count > 20)
            var explained = 0
            for query in captured {
                var lines: [String] = []
                do {
                    for try await line in try await stack.database.query(PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds), logger: logger).decode(String.self) {
                        lines.append(line)
                    }
                } catch {
                    Issue.record("EXPLAIN could not plan a statement the pages ran: \(String(reflecting: error))\n\(query.sql)")
                    continue
                }
                let plan = lines.joined(separator: "\n")
                explained += 1
                for table in Self.largeTables where plan.contains("Seq Scan on \(table) ") || plan.hasSuffix("Seq Scan on \(table)") {
                    Issue.record("a sequential scan of \(table):\n\(query.sql)\n\(plan)")
                }
            }
            #expect(explained > 20)
        }
    }
}
