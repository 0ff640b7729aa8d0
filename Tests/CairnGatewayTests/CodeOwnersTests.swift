import CairnModel
import CairnService
import CairnTestSupport
@testable import CairnGateway
import Foundation
import NIOHTTP1
import Testing

/// CODEOWNERS as GitHub documents it, and the owners of the paths a pull request changes
/// asked for a review when it opens.
@Suite("Code owners", .timeLimit(.minutes(4)))
struct CodeOwnersTests {
    @Test("patterns match as GitHub's examples say; the last matching line wins")
    func patterns() {
        let owners = CodeOwners("""
            # Owners of everything, unless a later line says otherwise.
            *       @global
            *.js    @js-owner   # a comment after the owners
            *.go    docs@example.com @org/team
            /build/logs/ @logs
            docs/*  @docs
            apps/   @apps
            /scripts/ @scripts @ops
            **/logs @anylogs
            /dist/vendored.js
            """)
        #expect(owners.owners(of: "README.md") == ["global"])
        #expect(owners.owners(of: "src/app.js") == ["js-owner"])
        #expect(owners.owners(of: "main.go") == [])  // emails and teams are not Cairn users
        #expect(owners.owners(of: "build/logs/today.txt") == ["anylogs"])  // the later `**/logs` wins
        #expect(owners.owners(of: "build/logs/deep/today.txt") == ["anylogs"])
        #expect(owners.owners(of: "docs/getting-started.md") == ["docs"])
        #expect(owners.owners(of: "docs/build-app/troubleshooting.md") == ["global"])  // docs/* is one level
        #expect(owners.owners(of: "apps/web/index.html") == ["apps"])
        #expect(owners.owners(of: "src/apps/web/index.html") == ["apps"])  // apps/ at any depth
        #expect(owners.owners(of: "scripts/deploy.sh") == ["scripts", "ops"])
        #expect(owners.owners(of: "src/scripts/deploy.sh") == ["global"])  // /scripts/ is at the root
        #expect(owners.owners(of: "dist/vendored.js") == [])  // no owners: taken away
        #expect(owners.owners(of: "a/logs") == ["anylogs"])
        #expect(CodeOwners("").owners(of: "x") == [])
        // Regular-expression characters in patterns are literal.
        #expect(CodeOwners("a+b(c).txt @x").owners(of: "a+b(c).txt") == ["x"])
        #expect(CodeOwners("a+b(c).txt @x").owners(of: "aab(c).txt") == [])
        #expect(CodeOwners("docs/** @d").owners(of: "docs/a/b/c.md") == ["d"])
    }

    @Test("a hostile file costs bounded work: wildcards without backtracking blow-up, deep paths, too many rules")
    func hostileFiles() {
        // As a regular expression, `.*a.*a.*a…` against `aaa…ab` backtracks for ever.
        let stars = CodeOwners(String(repeating: "**a", count: 80) + " @x")
        #expect(stars.owners(of: String(repeating: "a", count: 200) + "b") == [])
        #expect(stars.owners(of: String(repeating: "a", count: 200)) == ["x"])
        let deep = CodeOwners((0..<900).map { "**/" + String(repeating: "*/", count: 60) + "x\($0) @o" }.joined(separator: "\n"))
        let path = (0..<500).map { "d\($0)" }.joined(separator: "/") + "/x1"
        #expect(deep.owners(of: Array(repeating: path, count: 300)).count == 300)
        // More rules than are read: none are, rather than the first ones without the last.
        let many = (0...CodeOwners.maxRules).map { "f\($0) @o" }.joined(separator: "\n")
        #expect(CodeOwners(many).rules.isEmpty)
    }

    @Test("opening a pull request asks the code owners of its paths who can read the repository; a review ends the request")
    func requestedOnOpen() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let carol = try await stack.makeUser("carol")
            _ = try await stack.makeUser("dave")
            let eve = try await stack.makeUser("eve")
            try await stack.makeRepository(ada, "owned", isPrivate: true)
            // Code owners are collaborators who may push; dave may only read.
            for (name, permission) in [("bob", "push"), ("carol", "push"), ("dave", "pull")] {
                #expect(try await stack.api(.PUT, "/api/v3/repos/ada/owned/collaborators/\(name)", as: ada, json: #"{"permission": "\#(permission)"}"#).0 == 204)
            }
            let url = stack.cloneURL("ada/owned", credentials: ada.tokenCredentials)
            let work = try await stack.makeWorkingCopy("owned", commits: 1)
            try FileManager.default.createDirectory(atPath: "\(work)/.github", withIntermediateDirectories: true)
            try "*.js @bob @dave\n/docs/ @carol @ada\n".write(toFile: "\(work)/.github/CODEOWNERS", atomically: true, encoding: .utf8)
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "Owners"], in: work)
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            try await stack.git(["checkout", "--quiet", "-b", "topic"], in: work)
            try FileManager.default.createDirectory(atPath: "\(work)/docs", withIntermediateDirectories: true)
            try "x\n".write(toFile: "\(work)/app.js", atomically: true, encoding: .utf8)
            try "y\n".write(toFile: "\(work)/docs/guide.md", atomically: true, encoding: .utf8)
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "Topic"], in: work)
            try await stack.git(["push", "--quiet", url, "topic"], in: work)

            let (status, body) = try await stack.api(.POST, "/api/v3/repos/ada/owned/pulls", as: ada, json: #"{"title": "Topic", "head": "topic"}"#)
            #expect(status == 201, "\(body)")
            // bob owns *.js and carol docs/; dave may not push and ada is the author.
            let pull = try PullRequestTests.json(body)
            let requested = (pull["requested_reviewers"] as? [[String: Any]] ?? []).compactMap { $0["login"] as? String }
            #expect(requested == ["bob", "carol"], "\(requested)")
            // The list shows them too (read for the whole page in one query).
            let listed = try PullRequestTests.list(try await stack.api(.GET, "/api/v3/repos/ada/owned/pulls", as: ada).1)
            #expect((listed.first?["requested_reviewers"] as? [[String: Any]] ?? []).compactMap { $0["login"] as? String } == ["bob", "carol"])
            // A review with comments on two files: each checked against the one diff read.
            let twoComments = #"{"event": "COMMENT", "body": "Two notes", "comments": [{"path": "app.js", "line": 1, "body": "a"}, {"path": "docs/guide.md", "line": 1, "body": "b"}]}"#
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/owned/pulls/1/reviews", as: carol, json: twoComments).0 == 200)
            let badLine = #"{"event": "COMMENT", "comments": [{"path": "app.js", "line": 1, "body": "a"}, {"path": "app.js", "line": 7, "body": "b"}]}"#
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/owned/pulls/1/reviews", as: carol, json: badLine).0 == 422)
            #expect(try PullRequestTests.list(try await stack.api(.GET, "/api/v3/repos/ada/owned/pulls/1/comments", as: ada).1).count == 2)
            let page = try await (try await WebPagesTests.signIn(stack, ada)).get("/ada/owned/pull/1")
            #expect(page.body.contains("Review requested from") && page.body.contains("code owner"))

            // Asking someone who may not push is refused; a review ends bob's request.
            for outsider in ["eve", "dave"] {
                let refused = try await stack.api(.POST, "/api/v3/repos/ada/owned/pulls/1/requested_reviewers", as: ada, json: #"{"reviewers": ["\#(outsider)"]}"#)
                #expect(refused.0 == 422, "\(refused)")
            }
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/owned/pulls/1/requested_reviewers", as: eve, json: #"{"reviewers": ["bob"]}"#).0 == 404)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/owned/pulls/1/requested_reviewers", as: try await stack.makeUser("frank"), json: #"{"reviewers": ["bob"]}"#).0 == 404)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/owned/pulls/1/reviews", as: bob, json: #"{"event": "APPROVE"}"#).0 == 200)
            let left = try PullRequestTests.json(try await stack.api(.GET, "/api/v3/repos/ada/owned/pulls/1/requested_reviewers", as: ada).1)
            #expect((left["users"] as? [[String: Any]])?.compactMap { $0["login"] as? String } == [])  // carol reviewed above
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/owned/pulls/1/requested_reviewers", as: ada, json: #"{"reviewers": ["carol"]}"#).0 == 200)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/owned/pulls/1/requested_reviewers", as: ada, json: #"{"reviewers": ["bob"]}"#).0 == 201)
        }
    }
}
