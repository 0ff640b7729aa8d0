import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Every form the gateway takes — each POST route of the pages, read from the router itself,
/// so a form added later is covered — refuses a post without the session's CSRF token or
/// with another session's, and does nothing.
@Suite(.timeLimit(.minutes(6))) struct CSRFTests {
    /// Posts that are not forms of a signed-in page: git, LFS and the API authenticate
    /// otherwise, and the one-click unsubscribe link carries its own signed token (RFC 8058).
    static func isForm(_ route: RouteCatalog.Route) -> Bool {
        route.method == "POST" && !route.path.hasPrefix("/api/") && !route.path.contains("/info/lfs/")
            && !route.path.hasSuffix("git-receive-pack") && !route.path.hasSuffix("git-upload-pack") && !route.path.hasPrefix("/unsubscribe/")
    }

    @Test func test_everyFormRefusesAPostWithoutItsToken() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada", admin: true)
            try await stack.makeRepository(ada, "site")
            let hook = #"{"config": {"url": "https://example.com/hook"}, "events": ["push"]}"#
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/site/hooks", as: ada, json: hook).0 == 201)
            let web = try await WebPagesTests.signIn(stack, ada)
            let stranger = try await WebPagesTests.signIn(stack, try await stack.makeUser("bob"))
            try await stranger.get("/settings")
            let foreignToken = await stranger.csrf
            let cookie = await web.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")

            let forms = try #require(stack.routes[.gateway]?.all.filter(Self.isForm))
            #expect(forms.count >= 25, "the router lists \(forms.count) forms")
            let values = ["owner": "ada", "repo": "site", "username": "bob", "name": "file.txt"]
            for route in forms {
                let path = route.path.split(separator: "/", omittingEmptySubsequences: false).map { part -> String in
                    // Templates read `{name}` (or `:name`).
                    let name = part.trimmingCharacters(in: CharacterSet(charactersIn: ":{}"))
                    return part.hasPrefix(":") || part.hasPrefix("{") ? values[name] ?? "1" : String(part)
                }.joined(separator: "/")
                for token in [nil, foreignToken] {
                    var request = HTTPClientRequest(url: stack.gatewayURL + path)
                    request.method = .POST
                    request.headers.add(name: "Cookie", value: cookie)
                    let fields = "name=changed&email=mallory%40example.com&password=password-ada&visibility=public&url=https%3A%2F%2Fexample.com"
                        + (token.map { "&csrf=\($0)" } ?? "")
                    if path.hasSuffix("/downloads") {
                        let boundary = "csrf-test"
                        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
                        let csrf = token.map { "--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\($0)\r\n" } ?? ""
                        request.body = .bytes(ByteBuffer(string: csrf + "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\n\r\nx\r\n--\(boundary)--\r\n"))
                    } else {
                        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                        request.body = .bytes(ByteBuffer(string: fields))
                    }
                    let response = try await WebSession.client.execute(request, timeout: .seconds(30))
                    let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                    // (No delivery exists to redeliver: that one is not found before its form is read.)
                    let refused = response.status == .forbidden || (response.status == .notFound && path.contains("/deliveries/"))
                    #expect(refused, "\(route) \(token == nil ? "without a token" : "with another session's token") answered \(response.status.code): \(body.prefix(200))")
                }
            }
            // Nothing happened: the repository, the address and the session are as they were.
            #expect(try await stack.repositories.find(owner: "ada", name: "site") != nil)
            #expect(try await stack.users.find(id: ada.user.id)?.email == "ada@example.com")
            #expect(try await web.get("/settings").status == 200)
        }
    }

    /// The layout and the repository header are rendered once and kept (`RenderedShells`);
    /// each view still carries its own session's token, and only that one is accepted.
    @Test func test_twoSessionsOfOneUserGetTheirOwnTokensFromTheKeptPage() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "site")
            let first = try await WebPagesTests.signIn(stack, ada)
            let second = try await WebPagesTests.signIn(stack, ada)
            let one = try #require(try await first.get("/ada/site").csrf)
            let other = try #require(try await second.get("/ada/site").csrf)
            #expect(!one.isEmpty && one != other && !one.contains("\u{1}") && !other.contains("\u{1}"))
            #expect(try await first.post("/ada/site/star", [:], csrf: other).status == 403)
            #expect(try await first.post("/ada/site/star", [:], csrf: one).status == 303)
            #expect(try await second.post("/ada/site/unstar", [:], csrf: other).status == 303)
            // Both pages carry the token in each of their forms: the header's and the layout's.
            let page = try await first.get("/ada/site").body
            #expect(page.components(separatedBy: "name=\"csrf\" value=\"\(one)\"").count - 1 >= 2)
        }
    }
}
