import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnTestSupport
import Foundation
import NIOHTTP1
import PostgresNIO
import Testing

/// Unhandled errors become error reports grouped by type and route, shown to site admins on
/// the error pages and in full on the 500 page; everyone else sees the request id only.
@Suite(.timeLimit(.minutes(5))) struct ErrorReportTests {
    @Test func test_unhandledErrorsAreReportedAndOnlyAdminsSeeTheirDetails() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada", admin: true)
            let bob = try await stack.makeUser("bob")
            try await stack.makeRepository(ada, "site")
            // Damage the database under the running gateway: the Downloads page and the LFS
            // batch API now fail in a way no handler expects.
            try await stack.database.query("DROP TABLE repository_blobs", logger: TestEnvironment.logger)

            let visitor = try await WebPagesTests.signIn(stack, bob)
            let failed = try await visitor.get("/ada/site/downloads")
            #expect(failed.status == 500 && failed.body.contains(#"id="request-id""#))
            #expect(!failed.body.contains("repository_blobs"))
            let requestID = try #require(failed.headers.first(name: "X-Request-Id"))
            #expect(failed.body.contains(requestID))

            let admin = try await WebPagesTests.signIn(stack, ada)
            let detailed = try await admin.get("/ada/site/downloads")
            #expect(detailed.status == 500 && detailed.body.contains(#"id="error-details""#) && detailed.body.contains("repository_blobs"))

            let batch = #"{"operation": "download", "objects": [{"oid": "\#(String(repeating: "a", count: 64))", "size": 1}]}"#
            #expect(try await stack.api(.POST, "/ada/site.git/info/lfs/objects/batch", as: ada, json: batch).0 == 500)

            let store = ErrorReportStore(client: stack.database, logger: TestEnvironment.logger)
            let reports = try await store.recent()
            #expect(reports.count == 2)
            let page = try #require(reports.first { $0.site.contains("downloads") })
            #expect(page.count == 2 && page.site.hasPrefix("GET ") && page.type.contains("PSQLError"))
            #expect(page.lastUserID == ada.user.id && page.lastRequest == "GET /ada/site/downloads")
            #expect(page.firstSeen <= page.lastSeen && page.details.contains("repository_blobs"))
            let api = try #require(reports.first { $0.site.contains("batch") })
            #expect(api.count == 1 && api.site.hasPrefix("POST "))

            let list = try await admin.get("/admin/errors")
            #expect(list.status == 200 && list.body.contains("PSQLError") && list.body.contains("/admin/errors/\(page.id)"))
            let one = try await admin.get("/admin/errors/\(page.id)")
            #expect(one.status == 200 && one.body.contains("repository_blobs") && one.body.contains("GET /ada/site/downloads"))
            #expect(try await visitor.get("/admin/errors").status == 404)
            #expect(try await visitor.get("/admin/errors/\(page.id)").status == 404)
            #expect(try await admin.get("/admin/errors/999999").status == 404)
        }
    }
}

/// The admin routes page shows what the gateway served in the last minutes.
@Suite(.timeLimit(.minutes(5))) struct RoutePagesTests {
    @Test func test_theRoutesPageShowsEachRoutesRequests() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada", admin: true)
            try await stack.makeRepository(ada, "kit")
            let web = try await WebPagesTests.signIn(stack, ada)
            for _ in 0..<3 { #expect(try await web.get("/ada/kit").status == 200) }
            #expect(try await web.get("/ada/nothing-here").status == 404)
            #expect(try await eventually(timeout: .seconds(10)) {
                let page = try await web.get("/admin/routes").body
                return page.contains("<code>GET /{owner}/{repo}</code></td><td>4</td>")
            })
            let bob = try await WebPagesTests.signIn(stack, try await stack.makeUser("bob"))
            #expect(try await bob.get("/admin/routes").status == 404)
        }
    }
}
