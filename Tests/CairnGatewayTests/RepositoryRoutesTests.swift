import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Every route of one repository — each `:owner/:repo` route of the pages, the API, git and
/// LFS, read from the router itself, so a route added later is covered — is checked against
/// a private repository that has everything the routes name (a commit, files, a README, a
/// hook with a delivery, a download, a star, a collaborator):
/// - its owner reaches each page and API read (not 404), so a 404 below is the check's;
/// - a signed-in outsider gets 404, with their own valid form token, so nothing but the
///   permission check can refuse them; anonymous callers get 404, or 401 where git asks;
/// - a reader (a `pull` collaborator) gets 403 on each route that changes something or shows
///   settings, hooks, collaborators, branch rules, deploy keys or traffic, and is let through everywhere else.
@Suite(.timeLimit(.minutes(6))) struct RepositoryRoutesTests {
    /// Routes that authenticate with a token or password rather than a page session.
    static func isMachineRoute(_ path: String) -> Bool {
        path.hasPrefix("/api/") || path.contains("/info/") || path.hasSuffix("git-upload-pack") || path.hasSuffix("git-receive-pack")
    }

    /// Well-formed bodies for the routes that read theirs before they know which permission
    /// they need, so that only the permission check can refuse them.
    static let validBodies = [
        "/objects/batch": #"{"operation": "download", "objects": [{"oid": "\#(String(repeating: "a", count: 64))", "size": 1}]}"#,
        "/objects/verify": #"{"oid": "\#(String(repeating: "a", count: 64))", "size": 1}"#,
    ]

    /// What a reader may do besides reading: star, watch, fork, fetch.
    static func readerMay(_ route: RouteCatalog.Route) -> Bool {
        if route.method == "GET" {
            return !["/settings", "/hooks", "/traffic", "/collaborators", "/protection", "/keys"].contains { route.path.contains($0) }
        }
        // Readers open pull requests, comment and review (not edit others' comments).
        let proposing = ["/pulls", "/comment", "/review"].contains { route.path.hasSuffix($0) }
            || (route.method == "POST" && ["/comments", "/reviews"].contains { route.path.hasSuffix($0) })
        return ["/star", "/unstar", "/watch", "/unwatch", "/fork", "/forks", "git-upload-pack", "/objects/batch"].contains { route.path.hasSuffix($0) }
            || route.path.hasPrefix("/api/v3/user/starred/") || proposing
    }

    /// Routes anyone allowed rightly gets 404 on: Cairn keeps no LFS locks, and "is it starred"
    /// answers 404 for no (the owner starred it; the reader did not).
    /// (Likewise "is it merged" for a pull request that is not.)
    static func ownerSees404(_ route: RouteCatalog.Route) -> Bool {
        route.path.contains("/locks") || (route.method == "GET" && route.path.hasSuffix("/merge"))
    }
    static func readerSees404(_ route: RouteCatalog.Route) -> Bool { ownerSees404(route) || route.path.hasPrefix("/api/v3/user/starred/") }

    /// `route` with its parameters filled in from `values` (a trailing `**` by the route's kind).
    static func concrete(_ route: RouteCatalog.Route, _ values: [String: String]) -> String {
        var path = route.path.split(separator: "/", omittingEmptySubsequences: false).map { part -> String in
            let name = part.trimmingCharacters(in: CharacterSet(charactersIn: ":{}"))
            if part == "**" {
                if route.path.contains("/archive/") { return "main.tar.gz" }
                if route.path.contains("/tree/") { return "main" }
                return route.path.contains("/contents/") ? "README.md" : "main/README.md"
            }
            // A review comment (on a line) and a conversation comment have ids of their own.
            if name == "comment" && route.path.contains("/pulls/comments/") { return values["lineComment"] ?? "1" }
            return part.hasPrefix(":") || part.hasPrefix("{") ? values[name] ?? "1" : String(part)
        }.joined(separator: "/")
        // LFS lives under the clone URL, `…/secret.git/info/lfs/…`.
        if route.path.contains("/info/lfs/") { path = path.replacingOccurrences(of: "/secret/info/", with: "/secret.git/info/") }
        if path.hasSuffix("/info/refs") { path += "?service=git-upload-pack" }
        return path
    }

    @Test func test_everyRepositoryRouteChecksThePermissionItDeclares() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let eve = try await stack.makeUser("eve")
            let bob = try await stack.makeUser("bob")
            let repository = try await stack.makeRepository(ada, "secret", isPrivate: true)
            let work = try await stack.makeWorkingCopy("secret")
            try "# Secret\n".write(toFile: "\(work)/README.md", atomically: true, encoding: .utf8)
            try await stack.git(["add", "README.md"], in: work)
            try await stack.git(["commit", "--quiet", "-m", "readme"], in: work)
            let head = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/secret/collaborators/bob", as: ada, json: #"{"permission": "pull"}"#).0 == 204)
            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/secret", as: ada).0 == 204)
            let hook = try await stack.api(.POST, "/api/v3/repos/ada/secret/hooks", as: ada, json: #"{"config": {"url": "https://example.com/hook"}, "events": ["push"]}"#)
            #expect(hook.0 == 201)
            let hookID = try #require((try JSONSerialization.jsonObject(with: Data(hook.1.utf8)) as? [String: Any])?["id"] as? Int)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/secret/hooks/\(hookID)/pings", as: ada).0 == 204)
            let deliveries = try await stack.api(.GET, "/api/v3/repos/ada/secret/hooks/\(hookID)/deliveries", as: ada).1
            let deliveryID = try #require((try JSONSerialization.jsonObject(with: Data(deliveries.utf8)) as? [[String: Any]])?.first?["id"] as? Int)
            let owner = try await WebPagesTests.signIn(stack, ada)
            try await owner.get("/ada/secret/downloads")
            #expect(try await owner.upload("/ada/secret/downloads", filename: "file.txt", Array("hello".utf8)).status == 303)
            // Pull request 1, from a branch, with a comment on its conversation and one on a line.
            try await stack.git(["checkout", "--quiet", "-b", "topic"], in: work)
            try "topic\n".write(toFile: "\(work)/topic.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "topic.txt"], in: work)
            try await stack.git(["commit", "--quiet", "-m", "topic"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "topic"], in: work)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/secret/pulls", as: ada, json: #"{"title": "Topic", "head": "topic", "base": "main"}"#).0 == 201)
            // A deploy key.
            let deployKey = try await SSHKeyTests.keygen(stack.folder, "ed25519").line.trimmingCharacters(in: .newlines)
            let keyAnswer = try await stack.api(.POST, "/api/v3/repos/ada/secret/keys", as: ada, json: #"{"title": "ci", "key": "\#(deployKey)"}"#)
            #expect(keyAnswer.0 == 201)
            // A branch rule (one that does not hold the owner, an admin).
            let rule = #"{"required_status_checks": null, "required_pull_request_reviews": null, "restrictions": null, "enforce_admins": false}"#
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/secret/branches/main/protection", as: ada, json: rule).0 == 200)
            let comment = try await stack.api(.POST, "/api/v3/repos/ada/secret/issues/1/comments", as: ada, json: #"{"body": "Note"}"#)
            let lineComment = try await stack.api(.POST, "/api/v3/repos/ada/secret/pulls/1/comments", as: ada, json: #"{"body": "Here", "path": "topic.txt", "line": 1}"#)
            func id(_ text: String) throws -> String { String(try #require((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["id"] as? Int)) }
            let values = [
                "owner": "ada", "repo": "secret", "username": "bob", "user": "bob", "name": "file.txt", "branch": "main", "ref": "main",
                "sha": head, "hook": String(hookID), "delivery": String(deliveryID), "number": "1", "comment": try id(comment.1), "lineComment": try id(lineComment.1),
                "basehead": "main...topic", "id": try id(keyAnswer.1),
            ]

            let outsider = try await WebPagesTests.signIn(stack, eve)
            try await outsider.get("/settings")
            let outsiderToken = await outsider.csrf
            let reader = try await WebPagesTests.signIn(stack, bob)
            try await reader.get("/settings")
            let readerToken = await reader.csrf
            #expect(!outsiderToken.isEmpty && !readerToken.isEmpty)

            /// The status `user` gets on `route`, through the API or their page session.
            func status(_ route: RouteCatalog.Route, as user: TestUser?, session: WebSession?, token: String) async throws -> Int {
                let path = Self.concrete(route, values)
                let method = HTTPMethod(rawValue: route.method)
                let body = method == .GET ? nil : Self.validBodies.first { path.hasSuffix($0.key) }?.value ?? "{}"
                if Self.isMachineRoute(route.path) || session == nil {
                    return try await stack.api(method, path, as: user, json: body).0
                }
                if method == .GET { return try await session!.get(path).status }
                return try await session!.post(path, ["name": "x", "url": "https://example.com/other"], csrf: token).status
            }

            let routes = try #require(stack.routes[.gateway]?.all.filter { $0.path.contains("{owner}/{repo}") || $0.path.contains(":owner/:repo") })
            #expect(routes.count >= 60, "the router lists \(routes.count) repository routes")
            // Reads first (the owner, the outsider, anonymous, the reader), then the reader's
            // refused changes: nothing the checks do may change what a later check sees.
            for route in routes {
                if route.method == "GET" && !Self.ownerSees404(route) {
                    let answer = try await status(route, as: ada, session: owner, token: "")
                    #expect(answer != 404 && answer < 500, "\(route) answered its owner \(answer): the test's data does not reach it")
                }
                let refused = try await status(route, as: eve, session: outsider, token: outsiderToken)
                #expect(refused == 404, "\(route) answered a signed-in outsider \(refused)")
                let anonymous = try await status(route, as: nil, session: nil, token: "")
                #expect(anonymous == 404 || anonymous == 401, "\(route) answered an anonymous caller \(anonymous)")
            }
            for route in routes where (route.method == "GET" || !Self.readerMay(route)) && !Self.readerSees404(route) {
                let answer = try await status(route, as: bob, session: reader, token: readerToken)
                if Self.readerMay(route) {
                    #expect(answer != 403 && answer != 404 && answer < 500, "\(route) answered a reader \(answer)")
                } else {
                    #expect(answer == 403, "\(route) answered a reader \(answer), not 403")
                }
            }
            // Nothing the refused callers sent changed anything.
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/hooks/\(hookID)", as: ada).0 == 200)
            #expect(try await stack.repositories.find(owner: "ada", name: "secret")?.isPrivate == true)
        }
    }

    /// The refusals say why, on pages and in the API alike.
    @Test func test_aReaderIsToldWhatTheRouteNeeds() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            _ = try await stack.makeRepository(ada, "shared", isPrivate: true)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/shared/collaborators/bob", as: ada, json: #"{"permission": "pull"}"#).0 == 204)
            let web = try await WebPagesTests.signIn(stack, bob)
            let settings = try await web.get("/ada/shared/settings")
            #expect(settings.status == 403 && settings.body.contains("Only the repository&#39;s admins can change its settings."), "\(settings.status)")
            let traffic = try await web.get("/ada/shared/traffic")
            #expect(traffic.status == 403 && traffic.body.contains("Only people who can push to a repository see its traffic."), "\(traffic.status)")
            let hooks = try await stack.api(.GET, "/api/v3/repos/ada/shared/hooks", as: bob)
            #expect(hooks.0 == 403 && hooks.1.contains("You need admin permission on ada/shared"), "\(hooks)")
            // The API takes a repository's name as it is; only pages read `name.git` as `name`.
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/shared.git", as: ada).0 == 404)
            #expect(try await WebPagesTests.signIn(stack, ada).get("/ada/shared.git").status == 200)
        }
    }
}
