import CairnModel
import CairnProtocol
import CairnRedis
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Analytics end to end: the gateway's page views and the repository store's clones and
/// pushes go through Redis to a running `cairn-stream`, and the Traffic page, the traffic
/// API and the site activity page show what it folded, to the people allowed to see them.
@Suite(.timeLimit(.minutes(5))) struct TrafficTests {
    @Test func test_viewsClonesAndPushesShowOnTheTrafficPageAndAPI() async throws {
        try await CairnStack.with(stream: true, overrides: ["CAIRN_STREAM_BATCH_WAIT_MILLISECONDS": "20"]) { stack in
            let ada = try await stack.makeUser("ada", admin: true)
            let repository = try await stack.makeRepository(ada, "tool")
            let work = try await stack.makeWorkingCopy("tool", commits: 3)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/tool", credentials: ada.tokenCredentials), "main"], in: work)
            // A pull request opened and merged (one push more: the merge lands on main).
            try await stack.git(["checkout", "--quiet", "-b", "topic"], in: work)
            _ = try await PullRequestTests.commit(stack, work, "topic.txt", "topic\n", "Topic")
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/tool", credentials: ada.tokenCredentials), "topic"], in: work)
            let (opened, openBody) = try await stack.api(.POST, "/api/v3/repos/ada/tool/pulls", as: ada, json: #"{"title":"Topic","head":"topic","base":"main"}"#)
            #expect(opened == 201, "\(openBody)")
            let (merged, mergeBody) = try await stack.api(.PUT, "/api/v3/repos/ada/tool/pulls/1/merge", as: ada, json: "{}")
            #expect(merged == 200, "\(mergeBody)")

            // Two anonymous visitors (same address, different browsers) and ada, signed in.
            let owner = try await WebPagesTests.signIn(stack, ada)
            for path in ["/ada/tool", "/ada/tool", "/ada/tool/blob/main/file1.txt"] { #expect(try await owner.get(path).status == 200) }
            for agent in ["browser-one", "browser-two"] {
                let (status, _) = try await stack.api(.GET, "/ada/tool", headers: [("User-Agent", agent)])
                #expect(status == 200)
            }
            // Settings pages are not views of the repository's content.
            #expect(try await owner.get("/ada/tool/settings").status == 200)
            try await stack.git(["clone", "--quiet", stack.cloneURL("ada/tool"), "\(stack.folder)/c1"])
            try await stack.git(["clone", "--quiet", stack.cloneURL("ada/tool"), "\(stack.folder)/c2"])

            let folded = await eventually(timeout: .seconds(15)) {
                let views = try? await stack.apiJSON("/api/v3/repos/ada/tool/traffic/views", as: ada)
                let clones = try? await stack.apiJSON("/api/v3/repos/ada/tool/traffic/clones", as: ada)
                return views?["count"] as? Int == 5 && clones?["count"] as? Int == 2
            }
            #expect(folded)
            let views = try await stack.apiJSON("/api/v3/repos/ada/tool/traffic/views", as: ada)
            #expect(views["uniques"] as? Int == 3)
            let days = try #require(views["views"] as? [[String: Any]])
            #expect(days.count == 14)
            #expect(days.last?["count"] as? Int == 5)
            #expect((days.last?["timestamp"] as? String)?.hasSuffix("T00:00:00Z") == true)
            let clones = try await stack.apiJSON("/api/v3/repos/ada/tool/traffic/clones", as: ada)
            // Both clones came from the same address and git user agent: one cloner.
            #expect(clones["uniques"] as? Int == 1)
            let weekly = try await stack.apiJSON("/api/v3/repos/ada/tool/traffic/views?per=week", as: ada)
            #expect((weekly["views"] as? [[String: Any]])?.count ?? 0 >= 2)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/tool/traffic/views?per=month", as: ada).0 == 422)
            let (status, body) = try await stack.api(.GET, "/api/v3/repos/ada/tool/traffic/popular/paths", as: ada)
            #expect(status == 200)
            let paths = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]])
            #expect(paths.first?["path"] as? String == "/ada/tool")
            #expect(paths.first?["count"] as? Int == 4)
            #expect(paths.first?["uniques"] as? Int == 3)
            #expect(paths.contains { $0["path"] as? String == "/ada/tool/blob/main/file1.txt" && $0["count"] as? Int == 1 })

            let page = try await owner.get("/ada/tool/traffic")
            #expect(page.status == 200)
            #expect(page.body.contains("<svg class=\"chart\""))
            #expect(page.body.contains("5 total · 3 unique"))
            #expect(page.body.contains("2 total · 1 unique"))
            #expect(page.body.contains("/ada/tool/blob/main/file1.txt"))
            #expect(page.body.contains("1 opened · 1 merged"))

            // The site activity page: the pushes (3 commits, 1 on topic, the merge), the views and clones,
            // the pull request opened and merged, one new user and repository.
            let activity = try await owner.get("/admin/activity")
            #expect(activity.status == 200)
            let today = PageFormatForTests.today()
            let row = try #require(activity.body.components(separatedBy: "<tr>").first { $0.contains(today) })
            #expect(row.contains("<td>5</td><td>3</td><td>2</td><td>3</td><td>5</td><td>0</td><td>1</td><td>1</td><td>1</td><td>1</td>"), "\(row)")
            _ = repository
        }
    }

    @Test func test_trafficIsForWritersOnly_andPrivateRepositoriesAre404ForOutsiders() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let reader = try await stack.makeUser("reader")
            let writer = try await stack.makeUser("writer")
            let outsider = try await stack.makeUser("outsider")
            let secret = try await stack.makeRepository(ada, "secret", isPrivate: true)
            let open = try await stack.makeRepository(ada, "open")
            for repository in [secret, open] {
                try await stack.repositories.setCollaborator(repositoryID: repository.id, userID: reader.user.id, permission: .read)
                try await stack.repositories.setCollaborator(repositoryID: repository.id, userID: writer.user.id, permission: .write)
            }
            for suffix in ["views", "clones", "popular/paths"] {
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/traffic/\(suffix)", as: outsider).0 == 404)
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/traffic/\(suffix)").0 == 404)
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/traffic/\(suffix)", as: reader).0 == 403)
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/open/traffic/\(suffix)", as: outsider).0 == 403)
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/traffic/\(suffix)", as: writer).0 == 200)
            }
            #expect(try await WebPagesTests.signIn(stack, outsider).get("/ada/secret/traffic").status == 404)
            #expect(try await WebSession(stack.gatewayURL).get("/ada/secret/traffic").status == 404)
            #expect(try await WebPagesTests.signIn(stack, reader).get("/ada/secret/traffic").status == 403)
            let writerPage = try await WebPagesTests.signIn(stack, writer).get("/ada/secret/traffic")
            #expect(writerPage.status == 200)
            #expect(writerPage.body.contains("No views in the last 14 days."))
            // The Traffic tab shows only to those who may open it.
            #expect(writerPage.body.contains(">Traffic</a>"))
            #expect(!(try await WebPagesTests.signIn(stack, reader).get("/ada/secret").body.contains(">Traffic</a>")))
            // The site activity page is for site admins only.
            #expect(try await WebPagesTests.signIn(stack, ada).get("/admin/activity").status == 404)
            #expect(try await WebSession(stack.gatewayURL).get("/admin/activity").status == 303)
        }
    }
}

enum PageFormatForTests {
    /// Today in UTC as the pages write it, `2026-11-23`.
    static func today() -> String {
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }
}
