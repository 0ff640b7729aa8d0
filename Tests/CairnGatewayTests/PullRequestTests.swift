import CairnModel
import CairnService
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Pull requests through GitHub's API with two users and the stock git client: from a fork,
/// `refs/pull/{n}/head` and `…/merge` fetchable, synced when the head moves, reviewed inline,
/// merged by each method, conflicts shown and refused, a push racing a merge never lost, and
/// the webhooks' payloads.
@Suite("Pull requests", .timeLimit(.minutes(6)))
struct PullRequestTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text.prefix(300))")
    }

    static func list(_ text: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "not a JSON list: \(text.prefix(300))")
    }

    static func trimmed(_ result: GitResult) -> String { result.output.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Writes `text` to `file` in `work` and commits it.
    static func commit(_ stack: CairnStack, _ work: String, _ file: String, _ text: String, _ message: String) async throws -> String {
        try text.write(toFile: "\(work)/\(file)", atomically: true, encoding: .utf8)
        try await stack.git(["add", file], in: work)
        try await stack.git(["commit", "--quiet", "-m", message], in: work)
        return trimmed(try await stack.git(["rev-parse", "HEAD"], in: work))
    }

    @Test("from a fork: opened over the API, refs/pull fetchable, synced on push, reviewed inline, merged, with webhooks")
    func forkPullRequestLifecycle() async throws {
        try await HookReceiver.with { receiver, hookBase in
            try await CairnStack.with(worker: true, overrides: WebhookTests.allowLoopback) { stack in
                let ada = try await stack.makeUser("ada")
                let bob = try await stack.makeUser("bob")
                let eve = try await stack.makeUser("eve")
                try await stack.makeRepository(ada, "app")
                let work = try await stack.makeWorkingCopy("app", commits: 2)
                try await stack.git(["push", "--quiet", stack.cloneURL("ada/app", credentials: ada.tokenCredentials), "main"], in: work)
                _ = try await stack.createHook(ada, "ada/app", url: hookBase + "/pulls", events: ["pull_request", "pull_request_review", "pull_request_review_comment", "issue_comment"])
                #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/forks", as: bob).0 == 202)

                // Bob works on a branch of his fork.
                let clone = ForkTests.newPath("bob-app")
                try await stack.git(["clone", "--quiet", stack.cloneURL("bob/app", credentials: bob.tokenCredentials), clone])
                try await stack.git(["checkout", "--quiet", "-b", "feature"], in: clone)
                let first = try await Self.commit(stack, clone, "feature.txt", "one\ntwo\nthree\n", "Add the feature")
                try await stack.git(["push", "--quiet", "origin", "feature"], in: clone)

                let (status, body) = try await stack.api(.POST, "/api/v3/repos/ada/app/pulls", as: bob, json: #"{"title": "Add the feature", "head": "bob:feature", "base": "main", "body": "Please **merge**."}"#)
                #expect(status == 201, "\(body)")
                let pull = try Self.json(body)
                #expect(pull["number"] as? Int == 1)
                #expect(pull["state"] as? String == "open")
                #expect(pull["merged"] as? Bool == false)
                #expect(pull["mergeable"] as? Bool == true)
                #expect(pull["mergeable_state"] as? String == "clean")
                #expect(pull["commits"] as? Int == 1)
                let head = try #require(pull["head"] as? [String: Any])
                #expect(head["label"] as? String == "bob:feature" && head["sha"] as? String == first && head["ref"] as? String == "feature")
                #expect((head["repo"] as? [String: Any])?["full_name"] as? String == "bob/app")
                #expect((pull["base"] as? [String: Any])?["ref"] as? String == "main")
                #expect((pull["user"] as? [String: Any])?["login"] as? String == "bob")
                #expect(pull["html_url"] as? String == "\(stack.configuration.publicURL)/ada/app/pull/1")

                // GitHub's fields are all there, absent ones as null.
                #expect(body.contains(#""merged_at":null"#) && body.contains(#""closed_at":null"#) && body.contains(#""merged_by":null"#), "\(body)")
                // Eve may read bob's fork but not push to it: she cannot propose its branches.
                let eveTry = try await stack.api(.POST, "/api/v3/repos/ada/app/pulls", as: eve, json: #"{"title": "Not mine", "head": "bob:feature"}"#)
                #expect(eveTry.0 == 422 && eveTry.1.contains("push to"), "\(eveTry)")
                // The same head and base again: refused while the first is open.
                #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/pulls", as: bob, json: #"{"title": "Again", "head": "bob:feature", "base": "main"}"#).0 == 422)

                // refs/pull/1/head and …/merge are in the base repository, fetchable with git.
                let refs = CairnStack.refs(try await stack.git(["ls-remote", stack.cloneURL("ada/app", credentials: ada.tokenCredentials)]).output)
                #expect(refs["refs/pull/1/head"] == first)
                let mergeRef = try #require(refs["refs/pull/1/merge"])
                // refs/pull/* is the store's: a push cannot change it, not even by the owner.
                let forged = try await stack.tryGit(["push", "--quiet", stack.cloneURL("ada/app", credentials: ada.tokenCredentials), "HEAD:refs/pull/1/head"], in: work)
                #expect(!forged.succeeded)
                #expect(CairnStack.refs(try await stack.git(["ls-remote", stack.cloneURL("ada/app", credentials: ada.tokenCredentials)]).output)["refs/pull/1/head"] == first)
                try await stack.git(["fetch", "--quiet", stack.cloneURL("ada/app", credentials: ada.tokenCredentials), "refs/pull/1/merge"], in: work)
                #expect(Self.trimmed(try await stack.git(["rev-parse", "FETCH_HEAD^2"], in: work)) == first)
                #expect(Self.trimmed(try await stack.git(["rev-parse", "FETCH_HEAD"], in: work)) == mergeRef)

                // A push to the head branch moves the pull request (the push task syncs it).
                let second = try await Self.commit(stack, clone, "feature.txt", "one\ntwo\nthree\nfour\n", "Extend the feature")
                try await stack.git(["push", "--quiet", "origin", "feature"], in: clone)
                #expect(try await eventually(timeout: .seconds(30)) {
                    let (_, text) = try await stack.api(.GET, "/api/v3/repos/ada/app/pulls/1")
                    return ((try? Self.json(text))?["head"] as? [String: Any])?["sha"] as? String == second
                })
                let commits = try Self.list(try await stack.api(.GET, "/api/v3/repos/ada/app/pulls/1/commits").1)
                #expect(commits.compactMap { $0["sha"] as? String } == [first, second])
                let files = try Self.list(try await stack.api(.GET, "/api/v3/repos/ada/app/pulls/1/files").1)
                #expect(files.count == 1 && files.first?["filename"] as? String == "feature.txt" && files.first?["status"] as? String == "added")
                #expect(files.first?["additions"] as? Int == 4)

                // Inline comments sit on lines of the diff; other lines are refused.
                let inline = try await stack.api(.POST, "/api/v3/repos/ada/app/pulls/1/comments", as: ada, json: #"{"body": "Why four?", "path": "feature.txt", "line": 4, "side": "RIGHT", "commit_id": "\#(second)"}"#)
                #expect(inline.0 == 201, "\(inline.1)")
                #expect(try Self.json(inline.1)["outdated"] as? Bool == false)
                #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/pulls/1/comments", as: ada, json: #"{"body": "Nowhere", "path": "feature.txt", "line": 99}"#).0 == 422)
                #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/pulls/1/comments", as: ada, json: #"{"body": "Nowhere", "path": "file1.txt", "line": 1}"#).0 == 422)
                #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/pulls/1/comments", as: ada, json: #"{"body": "x", "path": "../etc/passwd", "line": 1}"#).0 == 422)

                // Reviews: the author cannot approve his own; ada approves.
                #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/pulls/1/reviews", as: bob, json: #"{"event": "APPROVE"}"#).0 == 422)
                let review = try await stack.api(.POST, "/api/v3/repos/ada/app/pulls/1/reviews", as: ada, json: #"{"event": "APPROVE", "body": "Looks good"}"#)
                #expect(review.0 == 200, "\(review.1)")
                #expect(try Self.json(review.1)["state"] as? String == "APPROVED")
                #expect(try Self.json(review.1)["commit_id"] as? String == second)

                // The conversation: a comment, edited by its author only.
                let comment = try Self.json(try await stack.api(.POST, "/api/v3/repos/ada/app/issues/1/comments", as: bob, json: #"{"body": "Thanks!"}"#).1)
                let commentID = try #require(comment["id"] as? Int)
                #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/app/issues/comments/\(commentID)", as: eve, json: #"{"body": "Hijacked"}"#).0 == 403)
                #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/app/issues/comments/\(commentID)", as: bob, json: #"{"body": "Thanks a lot!"}"#).0 == 200)
                let conversation = try Self.list(try await stack.api(.GET, "/api/v3/repos/ada/app/issues/1/comments").1)
                #expect(conversation.compactMap { $0["body"] as? String } == ["Thanks a lot!"])
                // On the page too: the author edits, someone else may not, the owner (an admin) deletes.
                let bobWeb = try await WebPagesTests.signIn(stack, bob)
                #expect(try await bobWeb.get("/ada/app/pull/1").body.contains("/comments/\(commentID)/edit"))
                #expect(try await bobWeb.post("/ada/app/pull/1/comments/\(commentID)/edit", ["body": "Thanks, really!"]).status == 303)
                let eveWeb = try await WebPagesTests.signIn(stack, eve)
                try await eveWeb.get("/ada/app/pull/1")
                #expect(try await eveWeb.post("/ada/app/pull/1/comments/\(commentID)/edit", ["body": "Hijacked"]).status == 403)
                #expect(try await eveWeb.post("/ada/app/pull/1/comments/\(commentID)/delete", [:]).status == 403)
                #expect(try Self.list(try await stack.api(.GET, "/api/v3/repos/ada/app/issues/1/comments").1).first?["body"] as? String == "Thanks, really!")
                let adaWeb = try await WebPagesTests.signIn(stack, ada)
                try await adaWeb.get("/ada/app/pull/1")
                #expect(try await adaWeb.post("/ada/app/pull/1/comments/\(commentID)/delete", [:]).status == 303)
                #expect(try Self.list(try await stack.api(.GET, "/api/v3/repos/ada/app/issues/1/comments").1).isEmpty)

                // The author retitles it; a PATCH that changes nothing sends no event.
                #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/app/pulls/1", as: bob, json: #"{"title": "Add the feature, better"}"#).0 == 200)
                #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/app/pulls/1", as: bob, json: #"{"title": "Add the feature, better"}"#).0 == 200)
                #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/app/pulls/1", as: eve, json: #"{"title": "Mine now"}"#).0 == 403)
                // Only writers merge; a stale sha is refused; then it merges.
                #expect(try await stack.api(.PUT, "/api/v3/repos/ada/app/pulls/1/merge", as: bob, json: "{}").0 == 403)
                #expect(try await stack.api(.PUT, "/api/v3/repos/ada/app/pulls/1/merge", as: ada, json: #"{"sha": "\#(first)"}"#).0 == 409)
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/app/pulls/1/merge").0 == 404)
                let merged = try await stack.api(.PUT, "/api/v3/repos/ada/app/pulls/1/merge", as: ada, json: #"{"sha": "\#(second)", "merge_method": "merge"}"#)
                #expect(merged.0 == 200, "\(merged.1)")
                let mergeSHA = try #require(try Self.json(merged.1)["sha"] as? String)
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/app/pulls/1/merge").0 == 204)
                let after = try Self.json(try await stack.api(.GET, "/api/v3/repos/ada/app/pulls/1").1)
                #expect(after["state"] as? String == "closed" && after["merged"] as? Bool == true && after["merge_commit_sha"] as? String == mergeSHA)
                try await stack.git(["pull", "--quiet", "--ff-only", stack.cloneURL("ada/app", credentials: ada.tokenCredentials), "main"], in: work)
                #expect(Self.trimmed(try await stack.git(["rev-parse", "HEAD", "HEAD^2"], in: work)) == "\(mergeSHA)\n\(second)")
                #expect(Self.trimmed(try await stack.git(["log", "-1", "--format=%s"], in: work)) == "Merge pull request #1 from bob:feature")
                #expect(try await stack.api(.PUT, "/api/v3/repos/ada/app/pulls/1/merge", as: ada, json: "{}").0 == 405)

                // The webhooks, field by field as GitHub documents them.
                #expect(await eventually(timeout: .seconds(30)) { await receiver.requests(event: "pull_request").count >= 4 })
                let events = await receiver.requests(event: "pull_request").map(\.json)
                let actions = events.compactMap { $0["action"] as? String }
                #expect(actions.contains("opened") && actions.contains("synchronize") && actions.contains("closed"), "\(actions)")
                let opened = try #require(events.first { $0["action"] as? String == "opened" })
                #expect(opened["number"] as? Int == 1)
                #expect((opened["sender"] as? [String: Any])?["login"] as? String == "bob")
                #expect((opened["repository"] as? [String: Any])?["full_name"] as? String == "ada/app")
                let openedPull = try #require(opened["pull_request"] as? [String: Any])
                #expect((openedPull["head"] as? [String: Any])?["sha"] as? String == first)
                #expect((openedPull["base"] as? [String: Any])?["ref"] as? String == "main")
                let edited = events.filter { $0["action"] as? String == "edited" }
                #expect(edited.count == 1, "\(edited.count) edited events")
                #expect(((edited.first?["changes"] as? [String: Any])?["title"] as? [String: Any])?["from"] as? String == "Add the feature")
                let synchronize = try #require(events.first { $0["action"] as? String == "synchronize" })
                #expect(synchronize["before"] as? String == first && synchronize["after"] as? String == second)
                let closed = try #require(events.first { $0["action"] as? String == "closed" })
                #expect((closed["pull_request"] as? [String: Any])?["merged"] as? Bool == true)
                #expect(await eventually(timeout: .seconds(20)) { await !receiver.requests(event: "pull_request_review").isEmpty })
                let reviewEvent = try #require(await receiver.requests(event: "pull_request_review").first?.json)
                #expect(reviewEvent["action"] as? String == "submitted" && (reviewEvent["review"] as? [String: Any])?["state"] as? String == "approved")
                #expect(await eventually(timeout: .seconds(20)) { await !receiver.requests(event: "pull_request_review_comment").isEmpty })
                let commentEvent = try #require(await receiver.requests(event: "pull_request_review_comment").first?.json)
                #expect((commentEvent["comment"] as? [String: Any])?["path"] as? String == "feature.txt")
                // The conversation's comments as GitHub sends them: created, edited (twice), deleted.
                #expect(await eventually(timeout: .seconds(20)) { await receiver.requests(event: "issue_comment").count >= 4 })
                let issueEvents = await receiver.requests(event: "issue_comment").map(\.json)
                #expect(issueEvents.compactMap { $0["action"] as? String }.sorted() == ["created", "deleted", "edited", "edited"])
                let created = try #require(issueEvents.first { $0["action"] as? String == "created" })
                #expect((created["issue"] as? [String: Any])?["number"] as? Int == 1)
                #expect(((created["issue"] as? [String: Any])?["pull_request"] as? [String: Any])?["url"] as? String == "\(stack.configuration.publicURL)/api/v3/repos/ada/app/pulls/1")
                #expect((created["comment"] as? [String: Any])?["body"] as? String == "Thanks!")
                #expect((created["sender"] as? [String: Any])?["login"] as? String == "bob")
            }
        }
    }

    @Test("squash, rebase and fast-forward merges; a conflict named and refused; a deleted head branch closes the pull request")
    func mergeMethodsAndConflicts() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "lib")
            let url = stack.cloneURL("ada/lib", credentials: ada.tokenCredentials)
            let work = try await stack.makeWorkingCopy("lib", commits: 1)
            _ = try await Self.commit(stack, work, "shared.txt", "alpha\nbeta\ngamma\n", "Shared file")
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            func branch(_ name: String, from start: String = "main", _ changes: [(String, String)]) async throws -> [String] {
                try await stack.git(["checkout", "--quiet", "-B", name, start], in: work)
                var made: [String] = []
                for (index, change) in changes.enumerated() { made.append(try await Self.commit(stack, work, change.0, change.1, "\(name) \(index + 1)")) }
                try await stack.git(["push", "--quiet", "--force", url, name], in: work)
                return made
            }
            func open(_ head: String) async throws -> Int {
                let (status, text) = try await stack.api(.POST, "/api/v3/repos/ada/lib/pulls", as: ada, json: #"{"title": "PR \#(head)", "head": "\#(head)", "body": "Body of \#(head)"}"#)
                #expect(status == 201, "\(text)")
                return try #require(try Self.json(text)["number"] as? Int)
            }
            func mainTip() async throws -> String {
                Self.trimmed(try await stack.git(["ls-remote", url, "refs/heads/main"])).split(separator: "\t").first.map(String.init) ?? ""
            }

            // Fast-forward: the base has not moved, so rebase lands the head's own commits.
            let ff = try await branch("ff", [("ff.txt", "ff\n")])
            let ffNumber = try await open("ff")
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/lib/pulls/\(ffNumber)/merge", as: ada, json: #"{"merge_method": "rebase"}"#).0 == 200)
            #expect(try await mainTip() == ff[0])

            // Squash: one new commit on main, the pull request's title as its subject.
            _ = try await branch("sq", [("sq1.txt", "1\n"), ("sq2.txt", "2\n")])
            let sqNumber = try await open("sq")
            let squash = try await stack.api(.PUT, "/api/v3/repos/ada/lib/pulls/\(sqNumber)/merge", as: ada, json: #"{"merge_method": "squash"}"#)
            #expect(squash.0 == 200, "\(squash.1)")
            try await stack.git(["fetch", "--quiet", url, "main"], in: work)
            #expect(Self.trimmed(try await stack.git(["rev-parse", "FETCH_HEAD^"], in: work)) == ff[0])
            #expect(Self.trimmed(try await stack.git(["log", "-1", "--format=%s%n%an", "FETCH_HEAD"], in: work)) == "PR sq (#\(sqNumber))\nada")
            #expect(Self.trimmed(try await stack.git(["ls-tree", "--name-only", "FETCH_HEAD"], in: work)).contains("sq2.txt"))

            // The same branch again: its changes are all in main already, so nothing to land.
            let again = try await open("sq")
            let empty = try await stack.api(.PUT, "/api/v3/repos/ada/lib/pulls/\(again)/merge", as: ada, json: #"{"merge_method": "squash"}"#)
            #expect(empty.0 == 405 && empty.1.contains("nothing"), "\(empty)")
            #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/lib/pulls/\(again)", as: ada, json: #"{"state": "closed"}"#).0 == 200)

            // Rebase onto a moved base: each commit replayed with its author and message.
            let rb = try await branch("rb", from: ff[0], [("rb1.txt", "1\n"), ("rb2.txt", "2\n")])
            let rbNumber = try await open("rb")
            let rebase = try await stack.api(.PUT, "/api/v3/repos/ada/lib/pulls/\(rbNumber)/merge", as: ada, json: #"{"merge_method": "rebase"}"#)
            #expect(rebase.0 == 200, "\(rebase.1)")
            try await stack.git(["fetch", "--quiet", url, "main"], in: work)
            #expect(Self.trimmed(try await stack.git(["log", "-2", "--format=%s|%an|%ae", "FETCH_HEAD"], in: work)) == "rb 2|Ada Tester|ada@example.com\nrb 1|Ada Tester|ada@example.com")
            #expect(!(try await stack.git(["merge-base", "--is-ancestor", rb[1], "FETCH_HEAD"], in: work, expectFailure: true).succeeded))
            let squashed = Self.trimmed(try await stack.git(["rev-parse", "FETCH_HEAD~2"], in: work))
            #expect(squashed == (try Self.json(squash.1)["sha"] as? String))

            // Deleting a merged head branch from its page: refused once it moved, done while it has not.
            let web = try await WebPagesTests.signIn(stack, ada)
            try await web.get("/ada/lib/pull/\(rbNumber)")
            #expect(try await web.post("/ada/lib/pull/\(rbNumber)/delete-branch", [:]).status == 303)
            #expect(try await stack.git(["ls-remote", url, "refs/heads/rb"]).output.isEmpty)
            try await stack.git(["checkout", "--quiet", "sq"], in: work)
            _ = try await Self.commit(stack, work, "sq3.txt", "3\n", "sq after the merge")
            try await stack.git(["push", "--quiet", url, "sq"], in: work)
            #expect(try await web.post("/ada/lib/pull/\(sqNumber)/delete-branch", [:]).status == 409)
            #expect(!(try await stack.git(["ls-remote", url, "refs/heads/sq"]).output.isEmpty))

            // A conflict: named, no test merge ref, and the merge refused with 405.
            try await stack.git(["checkout", "--quiet", "-B", "main", "FETCH_HEAD"], in: work)
            _ = try await branch("clash", [("shared.txt", "alpha\nBETA from clash\ngamma\n")])
            try await stack.git(["checkout", "--quiet", "main"], in: work)
            _ = try await Self.commit(stack, work, "shared.txt", "alpha\nbeta on main\ngamma\n", "Main changes beta")
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            let clash = try await open("clash")
            let conflicted = try Self.json(try await stack.api(.GET, "/api/v3/repos/ada/lib/pulls/\(clash)").1)
            #expect(conflicted["mergeable"] as? Bool == false && conflicted["mergeable_state"] as? String == "dirty")
            let refused = try await stack.api(.PUT, "/api/v3/repos/ada/lib/pulls/\(clash)/merge", as: ada, json: "{}")
            #expect(refused.0 == 405 && refused.1.contains("shared.txt"), "\(refused)")
            #expect(CairnStack.refs(try await stack.git(["ls-remote", url]).output)["refs/pull/\(clash)/merge"] == nil)

            // Deleting the head branch closes the pull request, with a comment saying so.
            try await stack.git(["push", "--quiet", url, "--delete", "clash"], in: work)
            #expect(try await eventually(timeout: .seconds(30)) {
                (try? Self.json(try await stack.api(.GET, "/api/v3/repos/ada/lib/pulls/\(clash)").1))?["state"] as? String == "closed"
            })
            // The comment follows the closing (the push task closes first, then says why).
            #expect(try await eventually(timeout: .seconds(30)) {
                let note = try? Self.list(try await stack.api(.GET, "/api/v3/repos/ada/lib/issues/\(clash)/comments").1)
                return note?.first?["body"] as? String == "The head branch clash was deleted, so this pull request was closed."
            })
            // The files tab goes gzipped to browsers that take it: the same page as the plain one.
            for web in [WebSession(stack.gatewayURL), try await WebPagesTests.signIn(stack, ada)] {
                let path = "/ada/lib/pull/\(clash)/files"
                let plain = try await web.get(path)
                #expect(plain.status == 200 && plain.body.contains("shared.txt"))
                for _ in 1...2 {
                    let (page, unzipped) = try await web.getAcceptingGzip(path)
                    #expect(page.status == 200 && page.headers.first(name: "Vary") == "Accept-Encoding")
                    #expect(unzipped == plain.body, "the gzipped files tab differs from the plain one")
                }
            }
            let closedList = try Self.list(try await stack.api(.GET, "/api/v3/repos/ada/lib/pulls?state=closed").1)
            #expect(closedList.count == 5)
            #expect(try Self.list(try await stack.api(.GET, "/api/v3/repos/ada/lib/pulls").1).isEmpty)
        }
    }

    @Test("a push to the base racing a merge is never lost")
    func pushDuringMerge() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "race")
            let url = stack.cloneURL("ada/race", credentials: ada.tokenCredentials)
            let work = try await stack.makeWorkingCopy("race", commits: 1)
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            let other = "\(stack.folder)/race-other"
            try await stack.git(["clone", "--quiet", url, other])
            for round in 1...4 {
                try await stack.git(["checkout", "--quiet", "-B", "topic\(round)", "main"], in: work)
                let topic = try await Self.commit(stack, work, "topic\(round).txt", "\(round)\n", "Topic \(round)")
                try await stack.git(["push", "--quiet", url, "topic\(round)"], in: work)
                let (status, text) = try await stack.api(.POST, "/api/v3/repos/ada/race/pulls", as: ada, json: #"{"title": "Topic \#(round)", "head": "topic\#(round)"}"#)
                #expect(status == 201, "\(text)")
                let number = try #require(try Self.json(text)["number"] as? Int)
                try await stack.git(["pull", "--quiet", "--rebase", url, "main"], in: other)
                let pushed = try await Self.commit(stack, other, "other\(round).txt", "\(round)\n", "Other \(round)")
                async let merge = stack.api(.PUT, "/api/v3/repos/ada/race/pulls/\(number)/merge", as: ada, json: "{}")
                async let push = stack.tryGit(["push", "--quiet", "origin", "main"], in: other)
                let (merged, pushResult) = try await (merge, push)
                let tip = Self.trimmed(try await stack.git(["ls-remote", url, "refs/heads/main"])).prefix(40)
                try await stack.git(["fetch", "--quiet", url, "main"], in: work)
                if pushResult.succeeded {
                    #expect(try await stack.tryGit(["merge-base", "--is-ancestor", pushed, String(tip)], in: work).succeeded, "round \(round): the pushed commit was lost")
                }
                if merged.0 == 200 {
                    #expect(try await stack.tryGit(["merge-base", "--is-ancestor", topic, String(tip)], in: work).succeeded, "round \(round): the merge was lost")
                } else {
                    #expect(merged.0 == 409, "round \(round): \(merged)")
                }
                #expect(pushResult.succeeded || merged.0 == 200, "round \(round): neither landed")
                try await stack.git(["checkout", "--quiet", "-B", "main", "FETCH_HEAD"], in: work)
            }
        }
    }

    @Test("a pull request whose commits a push brings onto its base is marked merged by the pusher, as on GitHub")
    func mergedOnTheCommandLine() async throws {
        try await HookReceiver.with { receiver, hookBase in
            try await CairnStack.with(worker: true, overrides: WebhookTests.allowLoopback) { stack in
                let ada = try await stack.makeUser("ada")
                let (_, work, _) = try await stack.makePushedRepository(ada, "cli")
                _ = try await stack.createHook(ada, "ada/cli", url: hookBase + "/pulls", events: ["pull_request"])
                let url = stack.cloneURL("ada/cli", credentials: ada.tokenCredentials)
                try await stack.git(["checkout", "--quiet", "-b", "topic"], in: work)
                let topic = try await Self.commit(stack, work, "topic.txt", "topic\n", "Topic")
                try await stack.git(["push", "--quiet", url, "topic"], in: work)
                #expect(try await stack.api(.POST, "/api/v3/repos/ada/cli/pulls", as: ada, json: #"{"title": "Topic", "head": "topic"}"#).0 == 201)
                // Merged by hand and pushed: the push task sees every commit of the head on main.
                try await stack.git(["checkout", "--quiet", "main"], in: work)
                try await stack.git(["merge", "--quiet", "--no-ff", "-m", "Merge topic by hand", "topic"], in: work)
                try await stack.git(["push", "--quiet", url, "main"], in: work)
                let tip = Self.trimmed(try await stack.git(["rev-parse", "HEAD"], in: work))
                #expect(await eventually(timeout: .seconds(30)) {
                    (try? Self.json(try await stack.api(.GET, "/api/v3/repos/ada/cli/pulls/1", as: ada).1)["merged"] as? Bool) == true
                })
                let pull = try Self.json(try await stack.api(.GET, "/api/v3/repos/ada/cli/pulls/1", as: ada).1)
                #expect(pull["state"] as? String == "closed" && pull["merge_commit_sha"] as? String == tip)
                #expect((pull["merged_by"] as? [String: Any])?["login"] as? String == "ada")
                #expect((pull["head"] as? [String: Any])?["sha"] as? String == topic)
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/cli/pulls/1/merge", as: ada).0 == 204)
                // A head branch reset to a commit main had is not merged by the next push to main.
                try await stack.git(["checkout", "--quiet", "-b", "reset", "main~1"], in: work)
                _ = try await Self.commit(stack, work, "reset.txt", "reset\n", "Reset topic")
                try await stack.git(["push", "--quiet", url, "reset"], in: work)
                #expect(try await stack.api(.POST, "/api/v3/repos/ada/cli/pulls", as: ada, json: #"{"title": "Reset", "head": "reset"}"#).0 == 201)
                try await stack.git(["push", "--quiet", "--force", url, "main~1:refs/heads/reset"], in: work)
                try await stack.git(["checkout", "--quiet", "main"], in: work)
                _ = try await Self.commit(stack, work, "later.txt", "later\n", "Later")
                try await stack.git(["push", "--quiet", url, "main"], in: work)
                #expect(await eventually(timeout: .seconds(30)) {
                    (try? Self.json(try await stack.api(.GET, "/api/v3/repos/ada/cli/pulls/2", as: ada).1)["commits"] as? Int) == 0
                })
                try await Task.sleep(for: .seconds(1))
                let reset = try Self.json(try await stack.api(.GET, "/api/v3/repos/ada/cli/pulls/2", as: ada).1)
                #expect(reset["merged"] as? Bool == false && reset["state"] as? String == "open", "\(reset)")
                #expect(await eventually(timeout: .seconds(30)) {
                    await receiver.requests(event: "pull_request").contains { ($0.json["pull_request"] as? [String: Any])?["merged"] as? Bool == true }
                })
            }
        }
    }

    @Test("bad input and private repositories: clear errors, 404 to outsiders")
    func badInputAndPrivacy() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let eve = try await stack.makeUser("eve")
            try await stack.makeRepository(ada, "secret", isPrivate: true)
            let url = stack.cloneURL("ada/secret", credentials: ada.tokenCredentials)
            let work = try await stack.makeWorkingCopy("secret", commits: 1)
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            try await stack.git(["checkout", "--quiet", "-b", "topic"], in: work)
            _ = try await Self.commit(stack, work, "t.txt", "t\n", "Topic")
            try await stack.git(["push", "--quiet", url, "topic"], in: work)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/secret/pulls", as: ada, json: #"{"title": "Topic", "head": "topic"}"#).0 == 201)

            for path in ["pulls", "pulls/1", "pulls/1/files", "pulls/1/commits", "pulls/1/comments", "pulls/1/reviews", "issues/1/comments", "compare/main...topic"] {
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/\(path)", as: eve).0 == 404, "\(path)")
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/\(path)").0 == 404, "\(path)")
            }
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/secret/pulls", as: eve, json: #"{"title": "x", "head": "topic"}"#).0 == 404)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/secret/pulls/1/merge", as: eve, json: "{}").0 == 404)

            let cases: [(String, String, Int)] = [
                ("POST", #"{"title": "", "head": "topic"}"#, 422),
                ("POST", #"{"title": "No such", "head": "nosuch"}"#, 422),
                ("POST", #"{"title": "Same", "head": "main", "base": "main"}"#, 422),
                ("POST", #"{"title": "Bad", "head": "--upload-pack=x"}"#, 422),
                ("POST", #"{"title": "Bad", "head": "topic", "base": "a..b"}"#, 422),
                ("POST", #"{"title": "Nobody", "head": "mallory:topic"}"#, 422),
                ("POST", #"{"title": "trunc"#, 400),
                ("POST", #"{"title": "x\u0000y", "head": "topic", "body": "a\u0000b"}"#, 422),
            ]
            for (method, body, expected) in cases {
                let (status, text) = try await stack.api(HTTPMethod(rawValue: method), "/api/v3/repos/ada/secret/pulls", as: ada, json: body)
                #expect(status == expected, "\(body) → \(status) \(text)")
                #expect(text.contains("message"), "\(text)")
            }
            for number in ["0", "-1", "abc", "99999999999999999999", "9223372036854775807"] {
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/pulls/\(number)", as: ada).0 == 404, "\(number)")
            }
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/secret/pulls/1/merge", as: ada, json: #"{"merge_method": "octopus"}"#).0 == 422)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/secret/pulls/1/merge", as: ada, json: #"{"sha": "zz"}"#).0 == 422)
            #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/secret/pulls/1", as: ada, json: #"{"state": "merged"}"#).0 == 422)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/pulls?state=weird", as: ada).0 == 422)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/compare/main..topic", as: ada).0 == 422)
            let compare = try Self.json(try await stack.api(.GET, "/api/v3/repos/ada/secret/compare/main...topic", as: ada).1)
            #expect(compare["ahead_by"] as? Int == 1 && (compare["files"] as? [[String: Any]])?.first?["filename"] as? String == "t.txt")
            #expect(compare["status"] as? String == "ahead" && compare["behind_by"] as? Int == 0)
            // Two commits on main that topic lacks: diverged, and the other way round behind.
            try await stack.git(["checkout", "--quiet", "main"], in: work)
            _ = try await Self.commit(stack, work, "m1.txt", "1\n", "Main one")
            _ = try await Self.commit(stack, work, "m2.txt", "2\n", "Main two")
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            let diverged = try Self.json(try await stack.api(.GET, "/api/v3/repos/ada/secret/compare/main...topic", as: ada).1)
            #expect(diverged["status"] as? String == "diverged" && diverged["ahead_by"] as? Int == 1 && diverged["behind_by"] as? Int == 2, "\(diverged)")
            let older = Self.trimmed(try await stack.git(["rev-parse", "main~2"], in: work))
            let behind = try Self.json(try await stack.api(.GET, "/api/v3/repos/ada/secret/compare/main...\(older)", as: ada).1)
            #expect(behind["status"] as? String == "behind" && behind["ahead_by"] as? Int == 0 && behind["behind_by"] as? Int == 2, "\(behind)")

            // Close and reopen by the author.
            #expect(try Self.json(try await stack.api(.PATCH, "/api/v3/repos/ada/secret/pulls/1", as: ada, json: #"{"state": "closed"}"#).1)["state"] as? String == "closed")
            #expect(try Self.json(try await stack.api(.PATCH, "/api/v3/repos/ada/secret/pulls/1", as: ada, json: #"{"state": "open", "title": "Renamed"}"#).1)["title"] as? String == "Renamed")
        }
    }
}
