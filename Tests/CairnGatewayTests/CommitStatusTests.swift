import CairnService
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Commit statuses as CI reports them: GitHub's API (report, list newest first, combined by
/// GitHub's rules), the `status` webhook, and the marks on the history, commit and branch pages.
@Suite("Commit statuses", .timeLimit(.minutes(6)))
struct CommitStatusTests {
    @Test("reported by a writer, combined as GitHub combines them, sent as status events and shown beside commits")
    func reportCombineAndShow() async throws {
        try await HookReceiver.with { receiver, hookBase in
            try await CairnStack.with(worker: true, overrides: WebhookTests.allowLoopback) { stack in
                let ada = try await stack.makeUser("ada")
                let sha = try await stack.makePushedRepository(ada, "tool", commits: 2).head
                _ = try await stack.createHook(ada, "ada/tool", url: hookBase + "/statuses", events: ["status"])

                // Before any status: pending with none, and no mark on the (cached) history page.
                let none = try PullRequestTests.json(try await stack.api(.GET, "/api/v3/repos/ada/tool/commits/main/status").1)
                #expect(none["state"] as? String == "pending" && none["total_count"] as? Int == 0)
                let before = try await stack.api(.GET, "/ada/tool/commits")
                #expect(before.0 == 200 && !before.1.contains("status-mark"))

                func report(_ state: String, _ context: String, url: String? = nil) async throws -> [String: Any] {
                    let target = url.map { #", "target_url": "\#($0)""# } ?? ""
                    let (status, body) = try await stack.api(
                        .POST, "/api/v3/repos/ada/tool/statuses/\(sha)", as: ada,
                        json: #"{"state": "\#(state)", "context": "\#(context)", "description": "\#(context) said \#(state)"\#(target)}"#)
                    #expect(status == 201, "\(body)")
                    return try PullRequestTests.json(body)
                }
                let first = try await report("success", "ci/build", url: "https://ci.example.com/builds/1")
                #expect(first["state"] as? String == "success" && first["context"] as? String == "ci/build")
                #expect(first["target_url"] as? String == "https://ci.example.com/builds/1")
                #expect(first["url"] as? String == "\(stack.configuration.publicURL)/api/v3/repos/ada/tool/statuses/\(sha)")
                #expect((first["creator"] as? [String: Any])?["login"] as? String == "ada")
                func combined() async throws -> [String: Any] {
                    try PullRequestTests.json(try await stack.api(.GET, "/api/v3/repos/ada/tool/commits/main/status").1)
                }
                #expect(try await combined()["state"] as? String == "success")
                _ = try await report("pending", "ci/lint")
                #expect(try await combined()["state"] as? String == "pending")
                _ = try await report("error", "ci/lint", url: "https://ci.example.com/lint/2")
                let failed = try await combined()
                #expect(failed["state"] as? String == "failure" && failed["total_count"] as? Int == 2 && failed["sha"] as? String == sha)
                // The history page shows the mark now (its cache is keyed by the statuses), linked to the failing check.
                let marked = try await stack.api(.GET, "/ada/tool/commits")
                #expect(marked.1.contains(#"class="status-mark status-failure" href="https://ci.example.com/lint/2""#), "\(marked.1)")
                _ = try await report("success", "ci/lint")
                let passed = try await combined()
                #expect(passed["state"] as? String == "success")
                #expect((passed["statuses"] as? [[String: Any]])?.compactMap { $0["context"] as? String }.sorted() == ["ci/build", "ci/lint"])

                // Every report kept, newest first, by branch or commit id, paged.
                let all = try PullRequestTests.list(try await stack.api(.GET, "/api/v3/repos/ada/tool/commits/\(sha)/statuses").1)
                #expect(all.compactMap { $0["state"] as? String } == ["success", "error", "pending", "success"])
                let paged = try PullRequestTests.list(try await stack.api(.GET, "/api/v3/repos/ada/tool/statuses/main?per_page=2&page=2").1)
                #expect(paged.compactMap { $0["state"] as? String } == ["pending", "success"])

                // The pages: history, commit (each check listed) and branches.
                #expect(try await stack.api(.GET, "/ada/tool/commits").1.contains("status-mark status-success"))
                let commitPage = try await stack.api(.GET, "/ada/tool/commit/\(sha)").1
                #expect(commitPage.contains(#"id="checks""#) && commitPage.contains("ci/lint said success") && commitPage.contains("https://ci.example.com/builds/1"))
                #expect(try await stack.api(.GET, "/ada/tool/branches").1.contains("status-mark status-success"))

                // The status events, with GitHub's fields.
                #expect(await eventually(timeout: .seconds(30)) { await receiver.requests(event: "status").count >= 4 })
                let events = await receiver.requests(event: "status").map(\.json)
                let firstEvent = try #require(events.first { $0["id"] as? Int == first["id"] as? Int })
                #expect(firstEvent["sha"] as? String == sha && firstEvent["name"] as? String == "ada/tool")
                #expect(firstEvent["state"] as? String == "success" && firstEvent["context"] as? String == "ci/build")
                #expect(firstEvent["target_url"] as? String == "https://ci.example.com/builds/1")
                #expect(firstEvent["description"] as? String == "ci/build said success")
                #expect((firstEvent["commit"] as? [String: Any])?["sha"] as? String == sha)
                let branches = try #require(firstEvent["branches"] as? [[String: Any]])
                #expect(branches.first?["name"] as? String == "main" && (branches.first?["commit"] as? [String: Any])?["sha"] as? String == sha)
                #expect((firstEvent["repository"] as? [String: Any])?["full_name"] as? String == "ada/tool")
                #expect((firstEvent["sender"] as? [String: Any])?["login"] as? String == "ada")
                #expect(firstEvent["created_at"] is String && firstEvent["updated_at"] is String)
            }
        }
    }

    @Test("bad reports get 422 with the reason; readers and outsiders cannot report; private repositories stay 404")
    func badInputAndPermissions() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let eve = try await stack.makeUser("eve")
            let sha = try await stack.makePushedRepository(ada, "secret", isPrivate: true).head
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/secret/collaborators/bob", as: ada, json: #"{"permission": "pull"}"#).0 == 204)
            let path = "/api/v3/repos/ada/secret/statuses/\(sha)"

            let cases: [(String, String, Int, String)] = [
                (path, #"{"state": "great"}"#, 422, "state"),
                (path, #"{"context": "ci"}"#, 400, "state"),
                (path, #"{"state": "success", "target_url": "javascript:alert(1)"}"#, 422, "target_url"),
                (path, #"{"state": "success", "description": "\#(String(repeating: "d", count: 141))"}"#, 422, "description"),
                (path, #"{"state": "success", "context": ""}"#, 422, "context"),
                // 140 characters of 280 code points: counted as the database counts them, refused, not a 500.
                (path, #"{"state": "success", "description": "\#(String(repeating: "e\u{301}", count: 140))"}"#, 422, "description"),
                (path, #"{"state": "success", "context": "a\u0000b"}"#, 422, "NUL"),
                (path, #"{"state": "succ"#, 400, "JSON"),
                ("/api/v3/repos/ada/secret/statuses/\(String(repeating: "e", count: 40))", #"{"state": "success"}"#, 422, "No commit found"),
                ("/api/v3/repos/ada/secret/statuses/\(sha.prefix(7))", #"{"state": "success"}"#, 422, "No commit found"),
                ("/api/v3/repos/ada/secret/statuses/..%2F..%2Fetc", #"{"state": "success"}"#, 422, "No commit found"),
            ]
            for (target, body, expected, reason) in cases {
                let (status, text) = try await stack.api(.POST, target, as: ada, json: body)
                #expect(status == expected, "\(target) \(body) → \(status) \(text)")
                #expect(text.contains(reason), "\(text)")
            }
            // A reader may read statuses but not report them; outsiders see nothing.
            #expect(try await stack.api(.POST, path, as: bob, json: #"{"state": "success"}"#).0 == 403)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/commits/main/status", as: bob).0 == 200)
            for user in [eve, nil] {
                #expect(try await stack.api(.POST, path, as: user, json: #"{"state": "success"}"#).0 == 404)
                for read in ["commits/main/status", "commits/main/statuses", "statuses/\(sha)"] {
                    #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/\(read)", as: user).0 == 404, "\(read)")
                }
            }
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/commits/nosuch/status", as: ada).0 == 404)
            let badPage = try await stack.api(.GET, "/api/v3/repos/ada/secret/commits/main/statuses?page=0", as: ada)
            #expect(badPage.0 == 400 && badPage.1.contains("page must be"), "\(badPage)")
        }
    }
}
