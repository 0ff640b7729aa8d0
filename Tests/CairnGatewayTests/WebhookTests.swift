import CairnModel
import CairnProtocol
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Webhooks end to end: the real `git push`, the worker, the guarded outbound client and a
/// receiver on loopback (reachable only because the tests' allow-list names it).
@Suite(.timeLimit(.minutes(5))) struct WebhookTests {
    static let allowLoopback = ["CAIRN_WEBHOOKS_ALLOWED_NETWORKS": "127.0.0.0/8, ::1"]

    @Test func test_pushDeliversOneSignedPushEventPerActiveHook() async throws {
        try await HookReceiver.with { receiver, base in
            try await CairnStack.with(worker: true, overrides: Self.allowLoopback) { stack in
                let ada = try await stack.makeUser("ada")
                let repository = try await stack.makeRepository(ada, "hooked")
                let signed = try await stack.createHook(ada, "ada/hooked", url: base + "/signed", secret: "s3cret")
                _ = try await stack.createHook(ada, "ada/hooked", url: base + "/plain")
                _ = try await stack.createHook(ada, "ada/hooked", url: base + "/inactive", active: false)

                let work = try await stack.makeWorkingCopy("hooked", commits: 3)
                try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work)
                let head = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)

                #expect(await eventually(timeout: .seconds(20)) { await receiver.requests(event: "push").count >= 2 })
                try await Task.sleep(for: .milliseconds(500))  // time for any duplicate to show up
                let pushes = await receiver.requests(event: "push")
                #expect(pushes.map(\.path).sorted() == ["/plain", "/signed"])
                #expect(await receiver.requests(path: "/inactive").isEmpty)

                let delivery = try #require(pushes.first { $0.path == "/signed" })
                #expect(delivery.signatureMatches(secret: "s3cret"))
                #expect(!delivery.signatureMatches(secret: "wrong"))
                #expect(delivery.headers["x-cairn-event"] == "push")
                #expect(delivery.headers["x-github-delivery"] == delivery.headers["x-cairn-delivery"])
                #expect(delivery.headers["x-github-hook-id"] == String(signed))
                #expect(delivery.headers["content-type"] == "application/json")
                #expect(pushes.first { $0.path == "/plain" }?.headers["x-hub-signature-256"] == nil)

                let payload = delivery.json
                #expect(payload["ref"] as? String == "refs/heads/main")
                #expect(payload["before"] as? String == RefUpdate.zero)
                #expect(payload["after"] as? String == head)
                #expect(payload["created"] as? Bool == true)
                let commits = try #require(payload["commits"] as? [[String: Any]])
                #expect(commits.map { $0["message"] as? String } == ["commit 1", "commit 2", "commit 3"])
                #expect(commits.last?["added"] as? [String] == ["file3.txt"])
                #expect((payload["head_commit"] as? [String: Any])?["id"] as? String == head)
                #expect((payload["repository"] as? [String: Any])?["full_name"] as? String == "ada/hooked")
                #expect((payload["pusher"] as? [String: Any])?["name"] as? String == "ada")
                #expect((payload["sender"] as? [String: Any])?["login"] as? String == "ada")

                // The deliveries API shows it, with the request sent and the answer received.
                let (status, list) = try await stack.api(.GET, "/api/v3/repos/ada/hooked/hooks/\(signed)/deliveries", as: ada)
                #expect(status == 200)
                let deliveries = try #require(try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]])
                let pushDelivery = try #require(deliveries.first { $0["event"] as? String == "push" })
                #expect(pushDelivery["status_code"] as? Int == 200)
                #expect(pushDelivery["guid"] as? String == delivery.headers["x-github-delivery"])
                let (_, detailText) = try await stack.api(.GET, "/api/v3/repos/ada/hooked/hooks/\(signed)/deliveries/\(pushDelivery["id"] as! Int)", as: ada)
                let detail = try #require(try JSONSerialization.jsonObject(with: Data(detailText.utf8)) as? [String: Any])
                #expect(((detail["request"] as? [String: Any])?["headers"] as? [String: String])?["X-GitHub-Event"] == "push")
                #expect((detail["response"] as? [String: Any])?["payload"] as? String == "thanks")

                // The push task records the figures too, after the deliveries (receivers wait on those).
                let recorded = try await eventually(timeout: .seconds(30)) {
                    try await stack.repositories.figures(repository.id).map { $0.commitCount == 3 && $0.sizeBytes > 0 } ?? false
                }
                #expect(recorded, "the push task did not record 3 commits and a size")
            }
        }
    }

    @Test func test_failingReceiverGetsThreeAttemptsAndRedeliveryResends() async throws {
        try await HookReceiver.with { receiver, base in
            try await CairnStack.with(worker: true, overrides: Self.allowLoopback) { stack in
                let ada = try await stack.makeUser("ada")
                try await stack.makeRepository(ada, "flaky")
                let hook = try await stack.createHook(ada, "ada/flaky", url: base + "/flaky/2", secret: "k")
                // Creating the hook pinged it: two failures, then a success.
                #expect(await eventually(timeout: .seconds(20)) { await receiver.requests(path: "/flaky/2").count >= 3 })
                try await Task.sleep(for: .milliseconds(500))
                let pings = await receiver.requests(path: "/flaky/2", event: "ping")
                #expect(pings.count == 3)
                #expect(Set(pings.map { $0.headers["x-github-delivery"] }).count == 1)

                let delivery = try #require(try await stack.hookDeliveries(ada, "ada/flaky", hook).first)
                #expect(delivery["attempts"] as? Int == 3)
                #expect(delivery["status_code"] as? Int == 200)

                let (status, _) = try await stack.api(.POST, "/api/v3/repos/ada/flaky/hooks/\(hook)/deliveries/\(delivery["id"] as! Int)/attempts", as: ada)
                #expect(status == 202)
                #expect(await eventually(timeout: .seconds(10)) { await receiver.requests(path: "/flaky/2").count == 4 })
                let again = await receiver.requests(path: "/flaky/2")
                #expect(again[3].body == again[2].body)
                #expect(again[3].headers["x-github-delivery"] != again[2].headers["x-github-delivery"])
                #expect(await eventually { (try? await stack.hookDeliveries(ada, "ada/flaky", hook).first?["redelivery"] as? Bool) == true })
            }
        }
    }

    @Test func test_loopbackTargetsAreRefusedWithoutTheAllowList() async throws {
        try await HookReceiver.with { receiver, base in
            let port = base.split(separator: ":").last!
            try await CairnStack.with(worker: true, overrides: ["CAIRN_WEBHOOKS_MAX_ATTEMPTS": "1"]) { stack in
                let ada = try await stack.makeUser("ada")
                try await stack.makeRepository(ada, "guarded")
                for target in ["http://127.0.0.1:\(port)/ok", "http://[::1]:\(port)/ok", "http://localhost:\(port)/ok"] {
                    let hook = try await stack.createHook(ada, "ada/guarded", url: target)
                    let failed = await eventually(timeout: .seconds(10)) {
                        (try? await stack.hookDeliveries(ada, "ada/guarded", hook).first?["status"] as? String)?.contains("refused") == true
                    }
                    #expect(failed, "a delivery to \(target) was not refused")
                    let (_, text) = try await stack.api(.GET, "/api/v3/repos/ada/guarded/hooks/\(hook)", as: ada)
                    #expect(text.contains("\"failing\""))
                }
                #expect(await receiver.requests().isEmpty)
            }
        }
    }

    @Test func test_redirectsAreNotFollowedAndSlowReceiversAreCutOff() async throws {
        try await HookReceiver.with { receiver, base in
            let overrides = Self.allowLoopback.merging(["CAIRN_WEBHOOKS_MAX_ATTEMPTS": "1", "CAIRN_WEBHOOKS_TIMEOUT": "1"]) { $1 }
            try await CairnStack.with(worker: true, overrides: overrides) { stack in
                let ada = try await stack.makeUser("ada")
                try await stack.makeRepository(ada, "edges")
                let redirected = try await stack.createHook(ada, "ada/edges", url: base + "/redirect")
                let slow = try await stack.createHook(ada, "ada/edges", url: base + "/slow")
                #expect(await eventually(timeout: .seconds(10)) {
                    (try? await stack.hookDeliveries(ada, "ada/edges", redirected).first?["status"] as? String)?.contains("redirects are not followed") == true
                })
                #expect(await receiver.requests(path: "/landed").isEmpty)
                #expect(await eventually(timeout: .seconds(10)) {
                    (try? await stack.hookDeliveries(ada, "ada/edges", slow).first?["status"] as? String)?.contains("no complete answer") == true
                })
                // `/slow` answers after 5 s, so had the worker waited, the delivery would show the 200;
                // "no complete answer" is the 1 s time-out cutting it off (no clock read here: the
                // tests share two cores and their timings say little).
                let cutOff = try #require(try await stack.hookDeliveries(ada, "ada/edges", slow).first)
                // GitHub's shape: 0 where no answer came.
                #expect(cutOff["status_code"] as? Int == 0, "a delivery cut off has no status code: \(cutOff)")
            }
        }
    }

    @Test func test_hooksAPIValidatesAndHidesFromNonAdmins() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            try await stack.makeRepository(ada, "open")
            try await stack.makeRepository(ada, "secret", isPrivate: true)
            for (body, problem) in [
                (#"{"config": {"url": "ftp://example.com/"}}"#, "http:// or https://"),
                (#"{"config": {"url": "https://user:pw@example.com/"}}"#, "credentials"),
                (#"{"config": {"url": "https://example.com/", "content_type": "xml"}}"#, "json or form"),
                (#"{"config": {"url": "https://example.com/"}, "events": ["issues"]}"#, "not an event"),
                (#"{"events": ["push"]}"#, "config.url is required"),
                (#"{"config": "#, "Problems parsing JSON"),
            ] {
                let (status, text) = try await stack.api(.POST, "/api/v3/repos/ada/open/hooks", as: ada, json: body)
                #expect(status == 422 || status == 400, "\(body) → \(status)")
                #expect(text.contains(problem), "\(body) → \(text)")
            }
            let hook = try await stack.createHook(ada, "ada/open", url: "https://hooks.example.com/x", secret: "hidden", active: false)
            let (_, shown) = try await stack.api(.GET, "/api/v3/repos/ada/open/hooks/\(hook)", as: ada)
            #expect(shown.contains("********") && !shown.contains("hidden"))
            let (patched, edited) = try await stack.api(.PATCH, "/api/v3/repos/ada/open/hooks/\(hook)", as: ada, json: #"{"config": {"url": "https://other.example.com/y"}, "active": false}"#)
            #expect(patched == 200 && edited.contains("other.example.com"))

            #expect(try await stack.api(.GET, "/api/v3/repos/ada/open/hooks", as: bob).0 == 403)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/open/hooks").0 == 401)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/hooks", as: bob).0 == 404)
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/open/hooks/\(hook)", as: bob).0 == 403)
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/open/hooks/\(hook)", as: ada).0 == 204)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/open/hooks/\(hook)", as: ada).0 == 404)
        }
    }

    @Test func test_settingsPagesAddPingInspectAndRedeliverHooks() async throws {
        try await HookReceiver.with { receiver, base in
            try await CairnStack.with(worker: true, overrides: Self.allowLoopback) { stack in
                let ada = try await stack.makeUser("ada")
                let bob = try await stack.makeUser("bob")
                try await stack.makeRepository(ada, "paged")
                try await stack.makeRepository(ada, "hidden", isPrivate: true)
                _ = try await stack.api(.PUT, "/api/v3/repos/ada/paged/collaborators/bob", as: ada, json: #"{"permission": "push"}"#)
                let web = try await WebPagesTests.signIn(stack, ada)

                #expect(try await web.get("/ada/paged/settings").body.contains("/ada/paged/settings/hooks"))
                try await web.get("/ada/paged/settings/hooks")
                #expect(try await web.post("/ada/paged/settings/hooks", ["url": "ftp://nowhere", "content_type": "json", "active": "on"]).status == 422)
                #expect(try await web.post("/ada/paged/settings/hooks", ["url": base + "/ok", "content_type": "json"], csrf: "forged").status == 403)
                let created = try await web.post("/ada/paged/settings/hooks", ["url": base + "/ok", "content_type": "json", "secret": "pssst", "active": "on"])
                let location = try #require(created.location)
                #expect(location.hasPrefix("/ada/paged/settings/hooks/"))

                // Creating it sent a ping; the hook page lists the delivery and links to it.
                #expect(await eventually(timeout: .seconds(10)) { await receiver.requests(event: "ping").count == 1 })
                let ping = try #require(await receiver.requests(event: "ping").first)
                #expect(ping.signatureMatches(secret: "pssst"))
                #expect(await eventually(timeout: .seconds(10)) { (try? await web.get(location).body.contains("answered 200")) == true })
                let hookPage = try await web.get(location)
                let link = try #require(hookPage.body.firstMatch(of: /href="(\/ada\/paged\/settings\/hooks\/\d+\/deliveries\/\d+)"/)).1
                let detail = try await web.get(String(link))
                #expect(detail.status == 200)
                #expect(detail.body.contains("X-Hub-Signature-256"))
                #expect(detail.body.contains("Keep it logically awesome."))
                #expect(detail.body.contains("thanks"))
                #expect(!detail.body.contains("pssst"))

                // The hook takes pushes (the form's default); its page offers every event, and a save
                // with boxes ticked takes those.
                #expect(hookPage.body.contains(#"name="event_push" checked"#) && hookPage.body.contains(#"name="event_status">"#))
                let hookID = String(location.split(separator: "/").last ?? "")
                #expect(try await web.post(location, ["url": base + "/ok", "content_type": "json", "active": "on", "event_status": "on", "event_pull_request": "on"]).status == 303)
                let hookJSON = try PullRequestTests.json(try await stack.api(.GET, "/api/v3/repos/ada/paged/hooks/\(hookID)", as: ada).1)
                #expect(hookJSON["events"] as? [String] == ["pull_request", "status"], "\(hookJSON)")
                #expect(try await web.post(String(link) + "/redeliver", [:]).status == 303)
                #expect(await eventually(timeout: .seconds(10)) { await receiver.requests(event: "ping").count == 2 })
                #expect(try await web.post(location + "/ping", [:]).status == 303)
                #expect(await eventually(timeout: .seconds(10)) { await receiver.requests(event: "ping").count == 3 })

                // Editing keeps the secret when the field is left blank, and can switch the hook off.
                #expect(try await web.post(location, ["url": base + "/ok", "content_type": "form", "secret": ""]).status == 303)
                let edited = try await web.get(location)
                #expect(edited.body.contains("(unchanged)") && !edited.body.contains("name=\"active\" checked"))

                // Writers may not see hooks; outsiders of a private repository do not see it at all.
                let collaborator = try await WebPagesTests.signIn(stack, bob)
                #expect(try await collaborator.get("/ada/paged/settings/hooks").status == 403)
                #expect(try await collaborator.get(location).status == 403)
                #expect(try await collaborator.get("/ada/hidden/settings/hooks").status == 404)

                #expect(try await web.post(location + "/delete", [:]).status == 303)
                #expect(try await web.get(location).status == 404)
            }
        }
    }
}

extension CairnStack {
    /// Creates a hook through the API; returns its id.
    func createHook(_ user: TestUser, _ fullName: String, url: String, secret: String? = nil, active: Bool = true, events: [String] = ["push"]) async throws -> Int {
        let secretField = secret.map { #", "secret": "\#($0)""# } ?? ""
        let eventList = events.map { "\"\($0)\"" }.joined(separator: ", ")
        let (status, text) = try await api(.POST, "/api/v3/repos/\(fullName)/hooks", as: user, json: #"{"config": {"url": "\#(url)", "content_type": "json"\#(secretField)}, "events": [\#(eventList)], "active": \#(active)}"#)
        guard status == 201, let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let id = object["id"] as? Int else {
            throw TestFailure("creating a hook answered \(status): \(text)")
        }
        return id
    }

    /// A hook's deliveries as the API lists them, newest first.
    func hookDeliveries(_ user: TestUser, _ fullName: String, _ hook: Int) async throws -> [[String: Any]] {
        let (_, text) = try await api(.GET, "/api/v3/repos/\(fullName)/hooks/\(hook)/deliveries", as: user)
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
    }
}
