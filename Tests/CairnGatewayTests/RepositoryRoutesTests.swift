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
/// LFS, read from the router itself, so a route added later is covered — hides a private
/// repository from a signed-in outsider (404, with their own valid form token, so nothing but
/// the permission check can refuse them) and from anonymous callers (404, or 401 where git
/// asks for credentials).
@Suite(.timeLimit(.minutes(3))) struct RepositoryRoutesTests {
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

    /// `route` with its parameters filled in for `ada/secret`.
    static func concrete(_ route: RouteCatalog.Route) -> String {
        let values = ["owner": "ada", "repo": "secret", "username": "eve", "user": "eve", "name": "file.txt", "branch": "main", "ref": "main", "sha": "0123456789abcdef"]
        return route.path.split(separator: "/", omittingEmptySubsequences: false).map { part -> String in
            let name = part.trimmingCharacters(in: CharacterSet(charactersIn: ":{}"))
            if part == "**" { return "main/README.md" }
            return part.hasPrefix(":") || part.hasPrefix("{") ? values[name] ?? "1" : String(part)
        }.joined(separator: "/")
    }

    @Test func test_everyRepositoryRouteHidesAPrivateRepositoryFromOutsiders() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let eve = try await stack.makeUser("eve")
            let repository = try await stack.makeRepository(ada, "secret", isPrivate: true)
            let work = try await stack.makeWorkingCopy("secret")
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work)
            let web = try await WebPagesTests.signIn(stack, eve)
            try await web.get("/settings")
            let eveToken = await web.csrf
            #expect(!eveToken.isEmpty)

            let routes = try #require(stack.routes[.gateway]?.all.filter { $0.path.contains(":owner/:repo") || $0.path.contains("{owner}/{repo}") })
            #expect(routes.count >= 60, "the router lists \(routes.count) repository routes")
            var checked = 0
            for route in routes {
                var path = Self.concrete(route)
                if path.hasSuffix("/info/refs") { path += "?service=git-upload-pack" }
                let method = HTTPMethod(rawValue: route.method)
                let body = method == .GET ? nil : Self.validBodies.first { path.hasSuffix($0.key) }?.value ?? "{}"
                let outsider: Int
                if Self.isMachineRoute(route.path) {
                    outsider = try await stack.api(method, path, as: eve, json: body).0
                } else if method == .GET {
                    outsider = try await web.get(path).status
                } else {
                    outsider = try await web.post(path, ["name": "x", "url": "https://example.com/hook"], csrf: eveToken).status
                }
                #expect(outsider == 404, "\(route.method) \(route.path) answered a signed-in outsider \(outsider)")
                let anonymous = try await stack.api(method, path, json: body).0
                #expect(anonymous == 404 || anonymous == 401, "\(route.method) \(route.path) answered an anonymous caller \(anonymous)")
                checked += 1
            }
            #expect(checked == routes.count)
            // The owner still reaches the same routes: a page, the API and git.
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/branches", as: ada).0 == 200)
            #expect(try await WebPagesTests.signIn(stack, ada).get("/ada/secret/commits").status == 200)
        }
    }

    /// A reader may see a repository but not change it: the routes that declare write or admin
    /// refuse them with 403 and the reason, on pages and in the API alike.
    @Test func test_aReaderIsRefusedWhatItsRoutesDeclareForWritersAndAdmins() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            _ = try await stack.makeRepository(ada, "shared", isPrivate: true)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/shared/collaborators/bob", as: ada, json: #"{"permission": "pull"}"#).0 == 204)
            let web = try await WebPagesTests.signIn(stack, bob)
            #expect(try await web.get("/ada/shared").status == 200)
            let settings = try await web.get("/ada/shared/settings")
            #expect(settings.status == 403 && settings.body.contains("Only the repository&#39;s admins can change its settings."), "\(settings.status)")
            let traffic = try await web.get("/ada/shared/traffic")
            #expect(traffic.status == 403 && traffic.body.contains("Only people who can push to a repository see its traffic."), "\(traffic.status)")
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/shared", as: bob).0 == 200)
            let hooks = try await stack.api(.GET, "/api/v3/repos/ada/shared/hooks", as: bob)
            #expect(hooks.0 == 403 && hooks.1.contains("You need admin permission on ada/shared"), "\(hooks)")
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/shared/traffic/views", as: bob).0 == 403)
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/shared", as: bob).0 == 403)
        }
    }
}
