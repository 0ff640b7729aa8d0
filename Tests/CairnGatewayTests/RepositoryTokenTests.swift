import CairnService
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Repository tokens for machines, with the stock git client: made by an admin on the
/// settings page and shown once, limited to their repository and permission, their last use
/// recorded, and dead once revoked.
@Suite("Repository tokens", .timeLimit(.minutes(6)))
struct RepositoryTokenTests {
    /// Makes a token on the settings page and reads its secret from the answer.
    static func make(_ session: WebSession, _ name: String, _ permission: String) async throws -> String {
        #expect(try await session.get("/ada/app/settings/tokens").status == 200)
        let made = try await session.post("/ada/app/settings/tokens", ["name": name, "permission": permission])
        #expect(made.status == 201, "\(made.status)")
        #expect(made.headers.first(name: "Cache-Control") == "no-store")
        let marker = #"id="token-secret">"#
        guard let start = made.body.range(of: marker)?.upperBound, let end = made.body[start...].firstIndex(of: "<") else {
            throw TestFailure("no token on the page")
        }
        return String(made.body[start..<end])
    }

    @Test("a read token clones only its repository; a write token pushes and reports statuses; neither reaches an account; revoked, none works")
    func limitedToItsRepository() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            try await stack.makeRepository(ada, "app", isPrivate: true)
            try await stack.makeRepository(ada, "other", isPrivate: true)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/app/collaborators/bob", as: ada, json: #"{"permission": "push"}"#).0 == 204)
            let work = try await stack.makeWorkingCopy("app", commits: 1)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/app", credentials: ada.tokenCredentials), "main"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/other", credentials: ada.tokenCredentials), "main"], in: work)

            let owner = try await WebPagesTests.signIn(stack, ada)
            let reader = try await Self.make(owner, "ci-read", "read")
            let writer = try await Self.make(owner, "ci-write", "write")
            #expect(reader.hasPrefix("cairn_rt_") && writer != reader)

            // The read token: clone and read the API of app; nothing else.
            try await stack.git(["clone", "--quiet", stack.cloneURL("ada/app", credentials: "ci:\(reader)"), "\(stack.folder)/read-clone"])
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/app", token: reader).0 == 200)
            _ = try await PullRequestTests.commit(stack, work, "ci.txt", "ci\n", "From CI")
            let refused = try await stack.git(["push", stack.cloneURL("ada/app", credentials: "ci:\(reader)"), "main"], in: work, expectFailure: true)
            #expect(refused.error.contains("403") || refused.error.contains("write permission"), "\(refused.error)")
            let head = PullRequestTests.trimmed(try await stack.git(["rev-parse", "HEAD"], in: work))
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/pulls", token: reader, json: #"{"title": "x", "head": "main"}"#).0 == 403)
            // Other repositories of the same admin, private: as if the token were not there.
            _ = try await stack.git(["clone", "--quiet", stack.cloneURL("ada/other", credentials: "ci:\(reader)"), "\(stack.folder)/no-clone"], expectFailure: true)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/other", token: reader).0 == 404)

            // The write token: push, report a status (made by ada, for whom it acts).
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/app", credentials: "ci:\(writer)"), "main"], in: work)
            let status = try await stack.api(.POST, "/api/v3/repos/ada/app/statuses/\(head)", token: writer, json: #"{"state": "success", "context": "ci"}"#)
            #expect(status.0 == 201 && status.1.contains(#""login":"ada""#), "\(status)")
            #expect(try await stack.git(["push", stack.cloneURL("ada/other", credentials: "ci:\(writer)"), "main"], in: work, expectFailure: true).error.contains("not found"))
            // In another repository of its maker, public, the token is nobody: it opens, comments and approves nothing.
            try await stack.makeRepository(ada, "pub")
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/pub", credentials: ada.tokenCredentials), "HEAD~1:refs/heads/main", "HEAD:refs/heads/topic"], in: work)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/pub/pulls", as: bob, json: #"{"title": "Topic", "head": "topic"}"#).0 == 201)
            let elsewhere = try await stack.api(.POST, "/api/v3/repos/ada/pub/pulls/1/reviews", token: writer, json: #"{"event": "APPROVE"}"#)
            #expect(elsewhere.0 == 403 && elsewhere.1.contains("only in its own repository"), "\(elsewhere)")
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/pub/issues/1/comments", token: writer, json: #"{"body": "hi"}"#).0 == 403)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/pub", token: writer).0 == 200)
            // In its own repository it may comment, but never approve in a person's stead.
            _ = try await PullRequestTests.commit(stack, work, "topic.txt", "topic\n", "Topic")
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/app", credentials: ada.tokenCredentials), "HEAD:refs/heads/topic"], in: work)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/app/pulls", as: bob, json: #"{"title": "Topic", "head": "topic"}"#).0 == 201)
            let approval = try await stack.api(.POST, "/api/v3/repos/ada/app/pulls/1/reviews", token: writer, json: #"{"event": "APPROVE"}"#)
            #expect(approval.0 == 403 && approval.1.contains("cannot approve"), "\(approval)")

            // Nothing of the account: not the user, not its repositories, not the admin's settings.
            for token in [reader, writer] {
                #expect(try await stack.api(.GET, "/api/v3/user", token: token).0 == 401)
                #expect(try await stack.api(.POST, "/api/v3/user/repos", token: token, json: #"{"name": "sneaky"}"#).0 == 401)
                #expect(try await stack.api(.GET, "/api/v3/repos/ada/app/hooks", token: token).0 == 403)
                #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/app", token: token).0 == 403)
            }

            // The page lists both, with their last use; a writer who is not an admin cannot see it.
            let listed = try await owner.get("/ada/app/settings/tokens")
            #expect(listed.body.contains("ci-read") && listed.body.contains("ci-write") && listed.body.contains("last used") && !listed.body.contains(reader))
            #expect(try await WebPagesTests.signIn(stack, bob).get("/ada/app/settings/tokens").status == 403)
            for (fields, reason) in [(["name": "", "permission": "read"], "name"), (["name": "x", "permission": "admin"], "permission")] {
                let bad = try await owner.post("/ada/app/settings/tokens", fields)
                #expect(bad.status == 422 && bad.body.contains(reason), "\(fields)")
            }

            // Revoked: the token is refused as bad credentials; a forged form revokes nothing.
            let ids = listed.body.components(separatedBy: "/settings/tokens/").dropFirst().compactMap { $0.split(separator: "/").first.map(String.init) }.filter { Int($0) != nil }
            #expect(ids.count == 2)
            let (id, last) = (try #require(ids.first), try #require(ids.last))
            #expect(try await owner.post("/ada/app/settings/tokens/\(last)/revoke", [:], csrf: "forged").status == 403)
            #expect(try await owner.post("/ada/app/settings/tokens/\(last)/revoke", [:]).status == 303)
            #expect(try await owner.post("/ada/app/settings/tokens/\(last)/revoke", [:]).status == 404)
            #expect(try await owner.post("/ada/app/settings/tokens/\(id)/revoke", [:]).status == 303)
            for token in [reader, writer] { #expect(try await stack.api(.GET, "/api/v3/repos/ada/app", token: token).0 == 401) }
            _ = try await stack.git(["clone", "--quiet", stack.cloneURL("ada/app", credentials: "ci:\(reader)"), "\(stack.folder)/revoked-clone"], expectFailure: true)
        }
    }
}
