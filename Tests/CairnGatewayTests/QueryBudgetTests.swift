import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Every hot page and API route stays within a fixed number of database queries however long
/// its lists are, read from the `Server-Timing` header site admins get: an N+1 regression
/// fails here.
@Suite(.timeLimit(.minutes(5))) struct QueryBudgetTests {
    /// Queries a page may make, whatever it lists.
    static let budget = 6

    @Test func test_hotPagesAndRoutesStayWithinTheirQueryBudget() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada", admin: true)
            let bob = try await stack.makeUser("bob")
            // Long lists: a dozen repositories, collaborators, stars and downloads.
            for n in 0..<12 { try await stack.makeRepository(ada, "kit\(n)") }
            let work = try await stack.makeWorkingCopy("kit0", commits: 12)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/kit0", credentials: "ada:\(ada.token)"), "main"], in: work)
            let head = CairnStack.refs(try await stack.git(["show-ref"], in: work).output)["refs/heads/main"]!
            for n in 0..<8 {
                let user = try await stack.makeUser("fan\(n)")
                #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/kit0", as: user).0 == 204)
                #expect(try await stack.api(.PUT, "/api/v3/repos/ada/kit0/collaborators/fan\(n)", as: ada, json: #"{"permission": "pull"}"#).0 == 204)
            }
            let web = try await WebPagesTests.signIn(stack, ada)
            try await web.get("/ada/kit0/downloads")
            for n in 0..<6 { #expect(try await web.upload("/ada/kit0/downloads", filename: "build-\(n).zip", Array("zip \(n)".utf8)).status == 303) }

            let pages = [
                "/", "/explore", "/ada", "/ada/kit0", "/ada/kit0/tree/main", "/ada/kit0/blob/main/file1.txt", "/ada/kit0/commits",
                "/ada/kit0/commit/\(head)", "/ada/kit0/branches", "/ada/kit0/tags", "/ada/kit0/downloads", "/ada/kit0/settings",
                "/ada/kit0/traffic", "/admin/switches", "/admin/errors", "/settings",
            ]
            for path in pages {
                let page = try await web.get(path)
                #expect(page.status == 200, "\(path)")
                let queries = try #require(QueryBudgetTests.queries(page.headers), "\(path) has no Server-Timing")
                #expect(queries <= Self.budget, "\(path) made \(queries) queries")
            }
            let routes = [
                "/api/v3/user", "/api/v3/user/repos", "/api/v3/users/ada/repos", "/api/v3/repos/ada/kit0", "/api/v3/repos/ada/kit0/branches",
                "/api/v3/repos/ada/kit0/commits", "/api/v3/repos/ada/kit0/contents/file1.txt", "/api/v3/repos/ada/kit0/collaborators",
                "/api/v3/repos/ada/kit0/stargazers", "/api/v3/users/ada/followers",
            ]
            for path in routes {
                let (status, headers, _) = try await stack.apiWithHeaders(.GET, path, as: ada)
                #expect(status == 200, "\(path)")
                let queries = try #require(QueryBudgetTests.queries(headers), "\(path) has no Server-Timing")
                #expect(queries <= Self.budget, "\(path) made \(queries) queries")
            }

            // Only site admins are told.
            let visitor = try await WebPagesTests.signIn(stack, bob)
            #expect(try await visitor.get("/ada/kit0").headers.first(name: "Server-Timing") == nil)
            #expect(try await stack.apiWithHeaders(.GET, "/api/v3/repos/ada/kit0", as: bob).1.first(name: "Server-Timing") == nil)
            // (A history page no one viewed yet: a viewed one comes from the fragment cache.)
            let timing = try await web.get("/ada/kit0/commits/main?page=3").headers.first(name: "Server-Timing") ?? ""
            #expect(timing.contains("redis;desc=") && timing.contains("repostore;desc="))
        }
    }

    /// The database query count in a `Server-Timing` header.
    static func queries(_ headers: HTTPHeaders) -> Int? {
        guard let value = headers.first(name: "Server-Timing") else { return nil }
        // A request that made no query has no `db` entry.
        guard let range = value.range(of: #"db;desc="(\d+) quer"#, options: .regularExpression) else { return 0 }
        return Int(value[range].dropFirst(#"db;desc=""#.count).prefix { $0.isNumber })
    }
}
