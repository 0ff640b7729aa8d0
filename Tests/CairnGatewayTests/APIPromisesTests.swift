import AsyncHTTPClient
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// What the README promises of the API and the file pages, each checked where it shows:
/// `Bearer` tokens, `auto_init`, hook pings and the deliveries cursor, `?plain=1` and line
/// anchors.
@Suite(.timeLimit(.minutes(5))) struct APIPromisesTests {
    @Test func test_aBearerTokenAuthenticatesAndABadOneDoesNot() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let (status, body) = try await stack.api(.GET, "/api/v3/user", headers: [("Authorization", "Bearer \(ada.token)")])
            #expect(status == 200 && body.contains(#""login":"ada""#), "\(status) \(body)")
            let refused = try await stack.api(.GET, "/api/v3/user", headers: [("Authorization", "Bearer \(ada.token)x")]).0
            #expect(refused == 401)
            #expect(try await stack.api(.GET, "/api/v3/user").0 == 401)
        }
    }

    @Test func test_autoInitStartsTheRepositoryWithAReadmeCommitOnMain() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let created = try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: #"{"name": "started", "description": "A start", "auto_init": true}"#)
            #expect(created.0 == 201)
            let readme = try await stack.apiJSON("/api/v3/repos/ada/started/contents/README.md", as: ada)
            let content = try #require((readme["content"] as? String).flatMap { Data(base64Encoded: $0.replacingOccurrences(of: "\n", with: "")) })
            #expect(String(decoding: content, as: UTF8.self).contains("# started"))
            let (status, commits) = try await stack.api(.GET, "/api/v3/repos/ada/started/commits?sha=main", as: ada)
            let list = try #require(try JSONSerialization.jsonObject(with: Data(commits.utf8)) as? [[String: Any]])
            #expect(status == 200 && list.count == 1)
            // Without it the repository starts empty.
            #expect(try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: #"{"name": "empty"}"#).0 == 201)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/empty/contents/README.md", as: ada).0 == 404)
        }
    }

    @Test func test_pingsThroughTheAPIAndTheDeliveriesCursorWalksEveryDeliveryOnce() async throws {
        try await HookReceiver.with { receiver, base in
            try await CairnStack.with(worker: true, overrides: WebhookTests.allowLoopback) { stack in
                let ada = try await stack.makeUser("ada")
                try await stack.makeRepository(ada, "hooked")
                let (status, body) = try await stack.api(
                    .POST, "/api/v3/repos/ada/hooked/hooks", as: ada, json: #"{"config": {"url": "\#(base)/ok", "content_type": "json"}, "events": ["push"]}"#)
                #expect(status == 201)
                let hook = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["id"] as? Int)
                // Creating it pinged it once; four more pings through the API.
                for _ in 0..<4 { #expect(try await stack.api(.POST, "/api/v3/repos/ada/hooked/hooks/\(hook)/pings", as: ada).0 == 204) }
                #expect(await eventually(timeout: .seconds(20)) { await receiver.requests(event: "ping").count == 5 })

                var seen: [Int] = []
                var next: String? = "/api/v3/repos/ada/hooked/hooks/\(hook)/deliveries?per_page=2"
                var pages = 0
                while let path = next, pages < 10 {
                    pages += 1
                    let (status, headers, text) = try await stack.apiWithHeaders(.GET, path, as: ada)
                    #expect(status == 200)
                    let page = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
                    seen += page.compactMap { $0["id"] as? Int }
                    next = headers.first(name: "Link").flatMap { $0.firstMatch(of: /<[^>]*(\/api\/v3[^>]*)>; rel="next"/).map { String($0.1) } }
                }
                #expect(pages == 3, "5 deliveries in pages of 2")
                #expect(seen.count == 5 && Set(seen).count == 5 && seen == seen.sorted(by: >), "\(seen)")
                for bad in ["abc", "-1", "0", "99999999999999999999"] {
                    #expect(try await stack.api(.GET, "/api/v3/repos/ada/hooked/hooks/\(hook)/deliveries?cursor=\(bad)", as: ada).0 == 400, "cursor \(bad)")
                }
            }
        }
    }

    @Test func test_plainShowsMarkdownAsSourceAndEveryLineHasAnAnchor() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "docs")
            let work = try await stack.makeWorkingCopy("docs", commits: 1)
            try "# Title\n\nSome *text*.\n".write(toFile: "\(work)/README.md", atomically: true, encoding: .utf8)
            try "one\ntwo <b>\nthree\n".write(toFile: "\(work)/notes.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "docs"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/docs", credentials: ada.tokenCredentials), "main"], in: work)

            let web = WebSession(stack.gatewayURL)
            let rendered = try await web.get("/ada/docs/blob/main/README.md")
            #expect(rendered.status == 200 && rendered.body.contains("Title</h1>") && rendered.body.contains("<em>text</em>"))
            #expect(rendered.body.contains("/ada/docs/blob/main/README.md?plain=1"))
            let plain = try await web.get("/ada/docs/blob/main/README.md?plain=1")
            #expect(plain.status == 200 && !plain.body.contains("Title</h1>") && !plain.body.contains("<em>") && plain.body.contains("# Title"))
            #expect(plain.body.contains(#"<tr id="L3">"#) && plain.body.contains(##"href="#L3""##))
            let text = try await web.get("/ada/docs/blob/main/notes.txt")
            for line in 1...3 { #expect(text.body.contains(#"<tr id="L\#(line)">"#), "line \(line)") }
            #expect(!text.body.contains(#"<tr id="L4">"#))
            #expect(text.body.contains("two &lt;b&gt;"))
        }
    }
}
