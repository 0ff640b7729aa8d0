import CairnModel
import CairnService
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Protected branches with the stock git client: refusals come from the repository store's
/// pre-receive hook with the reason git shows (`remote: …`), and merges through the API are
/// held by the same rules until reviews approve and the required checks pass.
@Suite("Protected branches", .timeLimit(.minutes(6)))
struct ProtectedBranchTests {
    static let off = #""required_status_checks": null, "required_pull_request_reviews": null, "restrictions": null"#

    /// Puts a rule over the API and expects it kept.
    static func protect(_ stack: CairnStack, _ user: TestUser, _ path: String, _ body: String) async throws -> [String: Any] {
        let (status, text) = try await stack.api(.PUT, "/api/v3/repos/\(path)/protection", as: user, json: body)
        #expect(status == 200, "\(text)")
        return try PullRequestTests.json(text)
    }

    @Test("force pushes, deletions, unchecked commits and unnamed pushers are refused with git's remote: reason")
    func pushesRefused() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let repository = try await stack.makeRepository(ada, "tool")
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/tool/collaborators/bob", as: ada, json: #"{"permission": "push"}"#).0 == 204)
            let url = stack.cloneURL("ada/tool", credentials: ada.tokenCredentials)
            let work = try await stack.makeWorkingCopy("tool", commits: 2)
            try await stack.git(["push", "--quiet", url, "main", "main:release/v1", "main:release/old/v0"], in: work)
            let tip = PullRequestTests.trimmed(try await stack.git(["rev-parse", "HEAD"], in: work))

            // No rule yet: GET is 404. Then main may not be force-pushed or deleted.
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/tool/branches/main/protection", as: ada).0 == 404)
            let shown = try await Self.protect(stack, ada, "ada/tool/branches/main", #"{\#(Self.off), "enforce_admins": true}"#)
            #expect((shown["enforce_admins"] as? [String: Any])?["enabled"] as? Bool == true)
            #expect((shown["allow_force_pushes"] as? [String: Any])?["enabled"] as? Bool == false)
            #expect(shown["required_status_checks"] is NSNull && shown["restrictions"] is NSNull)
            #expect(shown["url"] as? String == "\(stack.configuration.publicURL)/api/v3/repos/ada/tool/branches/main/protection")

            try await stack.git(["reset", "--quiet", "--hard", "HEAD~1"], in: work)
            _ = try await PullRequestTests.commit(stack, work, "other.txt", "other\n", "Rewritten")
            let forced = try await stack.git(["push", "--force", url, "main"], in: work, expectFailure: true)
            #expect(forced.error.contains("remote: cairn: main is protected (main): it cannot be force-pushed"), "\(forced.error)")
            #expect(forced.error.contains("pre-receive hook declined"), "\(forced.error)")
            let deleted = try await stack.git(["push", url, ":main"], in: work, expectFailure: true)
            #expect(deleted.error.contains("it cannot be deleted"), "\(deleted.error)")
            // A fast-forward is fine.
            try await stack.git(["reset", "--quiet", "--hard", tip], in: work)
            _ = try await PullRequestTests.commit(stack, work, "next.txt", "next\n", "Next")
            try await stack.git(["push", "--quiet", url, "main"], in: work)

            // A pattern: release/* holds release/v1, not release/old/v0 (`*` stops at `/`).
            _ = try await Self.protect(stack, ada, "ada/tool/branches/release%2F*", #"{\#(Self.off), "enforce_admins": true}"#)
            // The branch API says which branches are protected, and filters by it.
            let listed = try PullRequestTests.list(try await stack.api(.GET, "/api/v3/repos/ada/tool/branches", as: ada).1)
            let flags = Dictionary(uniqueKeysWithValues: listed.compactMap { branch in (branch["name"] as? String).map { ($0, branch["protected"] as? Bool) } })
            #expect(flags == ["main": true, "release/v1": true, "release/old/v0": false], "\(flags)")
            let onlyProtected = try PullRequestTests.list(try await stack.api(.GET, "/api/v3/repos/ada/tool/branches?protected=true", as: ada).1)
            #expect(onlyProtected.compactMap { $0["name"] as? String } == ["main", "release/v1"])
            #expect(try PullRequestTests.json(try await stack.api(.GET, "/api/v3/repos/ada/tool/branches/release%2Fv1", as: ada).1)["protected"] as? Bool == true)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/tool/branches?protected=maybe", as: ada).0 == 422)
            #expect(try await stack.git(["push", url, ":release/v1"], in: work, expectFailure: true).error.contains("release/v1 is protected (release/*)"))
            try await stack.git(["push", "--quiet", url, ":release/old/v0"], in: work)

            // Required checks: only a commit whose checks passed may become main's tip.
            _ = try await Self.protect(stack, ada, "ada/tool/branches/main", #"{"required_status_checks": {"strict": false, "contexts": ["ci"]}, "required_pull_request_reviews": null, "restrictions": null, "enforce_admins": true}"#)
            let checked = try await PullRequestTests.commit(stack, work, "checked.txt", "checked\n", "Checked")
            let unchecked = try await stack.git(["push", url, "main"], in: work, expectFailure: true)
            #expect(unchecked.error.contains("required status checks have not passed on \(checked.prefix(10)): ci"), "\(unchecked.error)")
            try await stack.git(["push", "--quiet", url, "main:feature"], in: work)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/tool/statuses/\(checked)", as: ada, json: #"{"state": "success", "context": "ci"}"#).0 == 201)
            try await stack.git(["push", "--quiet", url, "main"], in: work)

            // Restrictions: bob may write to the repository, but main names only ada.
            _ = try await Self.protect(stack, ada, "ada/tool/branches/main", #"{"required_status_checks": null, "required_pull_request_reviews": null, "restrictions": {"users": ["ada"], "teams": []}, "enforce_admins": true}"#)
            _ = try await PullRequestTests.commit(stack, work, "bob.txt", "bob\n", "Bob's")
            let bobs = try await stack.git(["push", stack.cloneURL("ada/tool", credentials: bob.tokenCredentials), "main"], in: work, expectFailure: true)
            #expect(bobs.error.contains("only the people it names may push or merge to it"), "\(bobs.error)")
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/tool", credentials: bob.tokenCredentials), "main:bob-branch"], in: work)
            try await stack.git(["push", "--quiet", url, "main"], in: work)

            // A rule that does not enforce admins does not hold ada (an admin), and still holds bob.
            _ = try await Self.protect(stack, ada, "ada/tool/branches/main", #"{\#(Self.off), "enforce_admins": false}"#)
            try await stack.git(["reset", "--quiet", "--hard", "HEAD~1"], in: work)
            _ = try await PullRequestTests.commit(stack, work, "again.txt", "again\n", "Rewritten again")
            try await stack.git(["push", "--force", "--quiet", url, "main"], in: work)
            try await stack.git(["reset", "--quiet", "--hard", "HEAD~1"], in: work)
            _ = try await stack.git(["push", "--force", stack.cloneURL("ada/tool", credentials: bob.tokenCredentials), "main"], in: work, expectFailure: true)
            // Nor a repository token ada made: it may write, never more, so it is held like bob.
            let tokens = RepositoryTokenStore(client: stack.database, logger: TestEnvironment.logger)
            let (machine, _) = try await tokens.create(repositoryID: repository.id, name: "ci", permission: .write, createdBy: ada.user.id)
            let viaToken = try await stack.git(["push", "--force", stack.cloneURL("ada/tool", credentials: "ci:\(machine)"), "main"], in: work, expectFailure: true)
            #expect(viaToken.error.contains("it cannot be force-pushed"), "\(viaToken.error)")

            // Deleted: the force push goes through.
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/tool/branches/main/protection", as: ada).0 == 204)
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/tool/branches/main/protection", as: ada).0 == 404)
            try await stack.git(["push", "--force", "--quiet", stack.cloneURL("ada/tool", credentials: bob.tokenCredentials), "main"], in: work)
        }
    }

    @Test("a merge waits for approvals and passing checks, the page says what is missing; bad rules get 422; only admins see rules")
    func mergesHeldAndBadInput() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let eve = try await stack.makeUser("eve")
            let work = try await stack.makePushedRepository(ada, "app", isPrivate: true).work
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/app/collaborators/bob", as: ada, json: #"{"permission": "push"}"#).0 == 204)
            let url = stack.cloneURL("ada/app", credentials: ada.tokenCredentials)
            _ = try await Self.protect(stack, ada, "ada/app/branches/main", """
                {"required_status_checks": {"strict": true, "contexts": ["ci/build"]},
                 "required_pull_request_reviews": {"required_approving_review_count": 1}, "restrictions": null, "enforce_admins": true}
                """)
            // Direct pushes must go through a pull request.
            _ = try await PullRequestTests.commit(stack, work, "direct.txt", "direct\n", "Direct")
            let direct = try await stack.git(["push", url, "main"], in: work, expectFailure: true)
            #expect(direct.error.contains("changes must go through a pull request"), "\(direct.error)")
            try await stack.git(["push", "--quiet", url, "main:topic"], in: work)
            let head = PullRequestTests.trimmed(try await stack.git(["rev-parse", "HEAD"], in: work))
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/pulls", as: ada, json: #"{"title": "Topic", "head": "topic"}"#).0 == 201)

            // Not yet: no approval, no check. The API says why; the page lists it and offers no merge button.
            let early = try await stack.api(.PUT, "/api/v3/repos/ada/app/pulls/1/merge", as: ada, json: "{}")
            #expect(early.0 == 405, "\(early.1)")
            #expect(early.1.contains("1 approving review is required (it has 0)") && early.1.contains("required status checks have not passed: ci/build"), "\(early.1)")
            let owner = try await WebPagesTests.signIn(stack, ada)
            let before = try await owner.get("/ada/app/pull/1")
            #expect(before.body.contains(#"id="merge-needs""#) && before.body.contains("1 approving review is required") && !before.body.contains(#"id="merge-form""#))
            // The author's own approval does not count; bob's does.
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/pulls/1/reviews", as: bob, json: #"{"event": "APPROVE"}"#).0 == 200)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/statuses/\(head)", as: ada, json: #"{"state": "pending", "context": "ci/build"}"#).0 == 201)
            let pending = try await stack.api(.PUT, "/api/v3/repos/ada/app/pulls/1/merge", as: ada, json: "{}")
            #expect(pending.0 == 405 && pending.1.contains("ci/build") && !pending.1.contains("approving"), "\(pending.1)")
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/statuses/\(head)", as: ada, json: #"{"state": "success", "context": "ci/build"}"#).0 == 201)
            let page = try await owner.get("/ada/app/pull/1")
            #expect(page.body.contains(#"id="merge-form""#), "\(page.body)")
            #expect(!page.body.contains(#"id="merge-needs""#) && page.body.contains(#"id="head-status""#))
            let merged = try await stack.api(.PUT, "/api/v3/repos/ada/app/pulls/1/merge", as: ada, json: "{}")
            #expect(merged.0 == 200, "\(merged.1)")

            // Bad rules, with the reason; only admins read or change rules; outsiders see 404.
            let bad: [(String, String, Int, String)] = [
                ("main", #"{"required_status_checks": null, "restrictions": null, "enforce_admins": true, "required_pull_request_reviews": {"required_approving_review_count": 11}}"#, 422, "required_approving_review_count"),
                ("main", #"{"required_status_checks": null, "required_pull_request_reviews": null, "enforce_admins": true, "restrictions": {"users": ["nosuch"]}}"#, 422, "no user nosuch"),
                ("a..b", #"{\#(Self.off), "enforce_admins": true}"#, 422, "branch"),
                ("main", #"{"required_status_checks": {"contexts": [""]}, "required_pull_request_reviews": null, "restrictions": null}"#, 422, "contexts"),
                ("main", #"{"enforce_admins": tru"#, 400, "JSON"),
            ]
            for (branch, body, expected, reason) in bad {
                let (status, text) = try await stack.api(.PUT, "/api/v3/repos/ada/app/branches/\(branch)/protection", as: ada, json: body)
                #expect(status == expected && text.contains(reason), "\(branch) \(body) → \(status) \(text)")
            }
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/app/branches/main/protection", as: bob).0 == 403)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/app/branches/main/protection", as: bob, json: #"{\#(Self.off)}"#).0 == 403)
            for user in [eve, nil] {
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/app/branches/main/protection", as: user).0 == 404)
                #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/app/branches/main/protection", as: user).0 == 404)
            }
            let kept = try PullRequestTests.json(try await stack.api(.GET, "/api/v3/repos/ada/app/branches/main/protection", as: ada).1)
            #expect((kept["required_status_checks"] as? [String: Any])?["contexts"] as? [String] == ["ci/build"])
            #expect((kept["required_status_checks"] as? [String: Any])?["strict"] as? Bool == true)
            #expect((kept["required_pull_request_reviews"] as? [String: Any])?["required_approving_review_count"] as? Int == 1)
        }
    }

    @Test("the settings page adds, edits and deletes rules for admins, with the reason for a bad one")
    func settingsPage() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            try await stack.makeRepository(ada, "tool")
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/tool/collaborators/bob", as: ada, json: #"{"permission": "push"}"#).0 == 204)
            let owner = try await WebPagesTests.signIn(stack, ada)
            let empty = try await owner.get("/ada/tool/settings/branches")
            #expect(empty.status == 200 && empty.body.contains("No branch is protected."))
            let saved = try await owner.post("/ada/tool/settings/branches", [
                "pattern": "release/*", "require_pull_request": "on", "approvals": "2", "contexts": "ci/build, ci/test, ci/build",
                "pushers": "bob", "enforce_admins": "on",
            ])
            #expect(saved.status == 303)
            let rule = try PullRequestTests.json(try await stack.api(.GET, "/api/v3/repos/ada/tool/branches/release%2F*/protection", as: ada).1)
            #expect((rule["required_pull_request_reviews"] as? [String: Any])?["required_approving_review_count"] as? Int == 2)
            #expect((rule["required_status_checks"] as? [String: Any])?["contexts"] as? [String] == ["ci/build", "ci/test"])
            #expect(((rule["restrictions"] as? [String: Any])?["users"] as? [[String: Any]])?.first?["login"] as? String == "bob")
            let listed = try await owner.get("/ada/tool/settings/branches")
            #expect(listed.body.contains("<code>release/*</code>") && listed.body.contains("pull requests with 2 approvals"))
            let editing = try await owner.get("/ada/tool/settings/branches?pattern=release%2F*")
            #expect(editing.body.contains("Edit the rule") && editing.body.contains(#"value="ci/build, ci/test""#))

            for (fields, reason) in [(["pattern": "a..b"], "pattern"), (["pattern": "main", "require_pull_request": "on", "approvals": "99"], "approvals"),
                                     (["pattern": "main", "pushers": "nosuch"], "no user nosuch"), (["pattern": "main", "approvals": "x"], "approvals")] {
                let refused = try await owner.post("/ada/tool/settings/branches", fields)
                #expect(refused.status == 422 && refused.body.contains(reason), "\(fields) → \(refused.status)")
            }
            // A writer who is not an admin sees the refusal; a form without its token changes nothing.
            let writer = try await WebPagesTests.signIn(stack, bob)
            #expect(try await writer.get("/ada/tool/settings/branches").status == 403)
            #expect(try await owner.post("/ada/tool/settings/branches/delete", ["pattern": "release/*"], csrf: "forged").status == 403)
            #expect(try await owner.post("/ada/tool/settings/branches/delete", ["pattern": "release/*"]).status == 303)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/tool/branches/release%2F*/protection", as: ada).0 == 404)
        }
    }

    @Test("a rule asking for code owners holds a merge until an owner of every changed path approves")
    func codeOwnersApprove() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let carol = try await stack.makeUser("carol")
            try await stack.makeRepository(ada, "site")
            for name in ["bob", "carol"] {
                #expect(try await stack.api(.PUT, "/api/v3/repos/ada/site/collaborators/\(name)", as: ada, json: #"{"permission": "push"}"#).0 == 204)
            }
            let url = stack.cloneURL("ada/site", credentials: ada.tokenCredentials)
            let work = try await stack.makeWorkingCopy("site", commits: 1)
            _ = try await PullRequestTests.commit(stack, work, "CODEOWNERS", "docs/ @carol\n", "Owners")
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            _ = try await Self.protect(stack, ada, "ada/site/branches/main", """
                {"required_status_checks": null, "required_pull_request_reviews": {"required_approving_review_count": 1, "require_code_owner_reviews": true},
                 "restrictions": null, "enforce_admins": true}
                """)
            try await stack.git(["checkout", "--quiet", "-b", "docs"], in: work)
            try FileManager.default.createDirectory(atPath: "\(work)/docs", withIntermediateDirectories: true)
            _ = try await PullRequestTests.commit(stack, work, "docs/guide.md", "# Guide\n", "Guide")
            try await stack.git(["push", "--quiet", url, "docs"], in: work)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/site/pulls", as: ada, json: #"{"title": "Guide", "head": "docs"}"#).0 == 201)

            // bob's approval makes one, but bob owns nothing here.
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/site/pulls/1/reviews", as: bob, json: #"{"event": "APPROVE"}"#).0 == 200)
            let waiting = try await stack.api(.PUT, "/api/v3/repos/ada/site/pulls/1/merge", as: ada, json: "{}")
            #expect(waiting.0 == 405 && waiting.1.contains("code owners") && !waiting.1.contains("approving review"), "\(waiting.1)")
            // carol owns docs/: her approval is what was missing.
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/site/pulls/1/reviews", as: carol, json: #"{"event": "APPROVE"}"#).0 == 200)
            let merged = try await stack.api(.PUT, "/api/v3/repos/ada/site/pulls/1/merge", as: ada, json: "{}")
            #expect(merged.0 == 200, "\(merged.1)")
        }
    }
}
