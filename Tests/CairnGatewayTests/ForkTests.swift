import CairnModel
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Forks over the API and the Fork button, with the stock git client: a fork has its
/// parent's history, takes pushes of its own, shares the parent's object files on disk,
/// outlives its parent, and is as private as its parent.
@Suite("Forks", .timeLimit(.minutes(5)))
struct ForkTests {
    /// A path no file has yet, for git to clone into.
    static func newPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cairn-\(name)-\(UUID().uuidString)").path
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("a fork through the API has its parent's history, its own pushes, shared object files, and outlives its parent")
    func forkThroughTheAPI() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let parent = try await stack.makeRepository(ada, "tool")
            let work = try await stack.makeWorkingCopy("tool", commits: 3)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/tool", credentials: ada.tokenCredentials), "main"], in: work)
            let head = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)

            let (status, body) = try await stack.api(.POST, "/api/v3/repos/ada/tool/forks", as: bob)
            #expect(status == 202, "\(body)")
            let fork = try Self.json(body)
            #expect(fork["full_name"] as? String == "bob/tool")
            #expect(fork["fork"] as? Bool == true)
            #expect((fork["parent"] as? [String: Any])?["full_name"] as? String == "ada/tool")
            #expect(fork["default_branch"] as? String == "main")
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/tool/forks", as: bob).0 == 422)  // bob/tool is taken
            let forkID = try #require(fork["id"] as? Int64 ?? (fork["id"] as? Int).map(Int64.init))
            let (_, listed) = try await stack.api(.GET, "/api/v3/repos/ada/tool/forks")
            #expect(listed.contains(#""full_name":"bob\/tool""#) || listed.contains(#""full_name":"bob/tool""#))

            // The fork's object files are the parent's, linked, not copied.
            let packs = try FileManager.default.contentsOfDirectory(atPath: "\(stack.repositoryPath(forkID))/objects/pack").filter { $0.hasSuffix(".pack") }
            let linked = try packs.map { try FileManager.default.attributesOfItem(atPath: "\(stack.repositoryPath(forkID))/objects/pack/\($0)")[.referenceCount] as? Int ?? 1 }
            #expect(!packs.isEmpty && linked.allSatisfy { $0 >= 2 }, "pack files \(packs) have link counts \(linked)")

            // Cloned with git, it has the parent's history; a push to it leaves the parent alone.
            let clone = Self.newPath("fork-clone")
            try await stack.git(["clone", "--quiet", stack.cloneURL("bob/tool", credentials: bob.tokenCredentials), clone])
            #expect(try await stack.git(["rev-parse", "HEAD"], in: clone).output.trimmingCharacters(in: .whitespacesAndNewlines) == head)
            try "bob's change\n".write(toFile: "\(clone)/bob.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "bob.txt"], in: clone)
            try await stack.git(["commit", "--quiet", "-m", "Bob's change"], in: clone)
            try await stack.git(["push", "--quiet", "origin", "main"], in: clone)
            let parentHead = try await stack.git(["ls-remote", stack.cloneURL("ada/tool", credentials: ada.tokenCredentials), "refs/heads/main"]).output
            #expect(parentHead.hasPrefix(head))

            // The parent deleted and its files removed, the fork still clones and checks clean.
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/tool", as: ada).0 == 204)
            #expect(try await eventually(timeout: .seconds(30)) { !FileManager.default.fileExists(atPath: stack.repositoryPath(parent.id)) })
            try await stack.git(["fsck", "--full", "--strict"], in: stack.repositoryPath(forkID))
            let again = Self.newPath("fork-clone-again")
            try await stack.git(["clone", "--quiet", stack.cloneURL("bob/tool", credentials: bob.tokenCredentials), again])
            #expect(FileManager.default.fileExists(atPath: "\(again)/bob.txt"))
            let (_, after) = try await stack.api(.GET, "/api/v3/repos/bob/tool", as: bob)
            let orphan = try Self.json(after)
            #expect(orphan["fork"] as? Bool == true && orphan["parent"] == nil)
        }
    }

    @Test("a fork of a private repository is private, and its parent is named only to those who may read it")
    func privateForks() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let eve = try await stack.makeUser("eve")
            try await stack.makePushedRepository(ada, "secret", isPrivate: true)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/secret/forks", as: eve).0 == 404)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret/forks", as: eve).0 == 404)

            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/secret/collaborators/bob", as: ada, json: #"{"permission": "pull"}"#).0 == 204)
            let (status, body) = try await stack.api(.POST, "/api/v3/repos/ada/secret/forks", as: bob, json: #"{"name": "my-secret"}"#)
            #expect(status == 202, "\(body)")
            #expect(try Self.json(body)["private"] as? Bool == true)
            #expect(try await stack.api(.GET, "/api/v3/repos/bob/my-secret", as: eve).0 == 404)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/secret/forks", as: bob, json: #"{"organization": "acme"}"#).0 == 422)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/secret/forks", as: bob, json: "{not json").0 == 400)

            let web = try await WebPagesTests.signIn(stack, bob)
            #expect(try await web.get("/bob/my-secret").body.contains(#"forked from <a href="/ada/secret">"#))
            // Once bob may no longer read the parent, his fork stays his but stops naming it.
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/secret/collaborators/bob", as: ada).0 == 204)
            let page = try await web.get("/bob/my-secret")
            #expect(page.status == 200 && !page.body.contains("ada/secret"))
            let (_, api) = try await stack.api(.GET, "/api/v3/repos/bob/my-secret", as: bob)
            #expect(try Self.json(api)["fork"] as? Bool == true && !api.contains("ada/secret"))
        }
    }

    @Test("the Fork button forks with the form's CSRF token and shows the fork")
    func forkButton() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            try await stack.makeRepository(ada, "tool")
            let web = try await WebPagesTests.signIn(stack, bob)
            let home = try await web.get("/ada/tool")
            #expect(home.body.contains(#"action="/ada/tool/fork""#))
            #expect(try await web.post("/ada/tool/fork", [:], csrf: "forged").status == 403)
            let forked = try await web.post("/ada/tool/fork", [:])
            #expect(forked.status == 303 && forked.location == "/bob/tool")
            let page = try await web.get("/bob/tool")
            #expect(page.body.contains(#"<p class="muted" id="forked-from">forked from <a href="/ada/tool">ada/tool</a></p>"#))
            #expect(try await web.post("/ada/tool/fork", [:]).status == 422)  // the name is taken now
            // Anonymous visitors get no button and cannot fork.
            let anonymous = WebSession(stack.gatewayURL)
            #expect(!(try await anonymous.get("/ada/tool").body.contains("/ada/tool/fork")))
        }
    }
}
