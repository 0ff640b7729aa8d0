import CairnModel
import CairnTestSupport
import Foundation
import Testing

/// The file lists of the repository home and the tree pages show, for each entry, the newest
/// commit that changed it.
@Suite(.timeLimit(.minutes(5))) struct LastCommitTests {
    @Test func test_eachEntryShowsTheNewestCommitThatChangedIt() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "site")
            let work = try await stack.makeWorkingCopy("site", commits: 2)
            func commit(_ files: [String: String], _ message: String) async throws {
                for (name, text) in files {
                    try FileManager.default.createDirectory(atPath: "\(work)/\((name as NSString).deletingLastPathComponent)", withIntermediateDirectories: true)
                    try text.write(toFile: "\(work)/\(name)", atomically: true, encoding: .utf8)
                }
                try await stack.git(["add", "."], in: work)
                try await stack.git(["commit", "--quiet", "-m", message], in: work)
            }
            try await commit(["src/a.swift": "a", "src/deep/b.swift": "b"], "Add the sources")
            try await commit(["src/deep/b.swift": "b2"], "Change <b> deep down\n\nWith a body that is not shown.")
            try await commit(["file1.txt": "changed"], "Touch file one")
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/site", credentials: "ada:\(ada.password)"), "main"], in: work)

            let web = WebSession(stack.gatewayURL)
            let home = try await web.get("/ada/site").body
            #expect(Self.message(of: "file1.txt", in: home) == "Touch file one")
            #expect(Self.message(of: "file2.txt", in: home) == "commit 2")
            // A directory shows the newest commit of anything inside it, escaped.
            #expect(Self.message(of: "src", in: home) == "Change &lt;b&gt; deep down", "\(home)")
            let tree = try await web.get("/ada/site/tree/main/src").body
            #expect(Self.message(of: "a.swift", in: tree) == "Add the sources")
            #expect(Self.message(of: "deep", in: tree) == "Change &lt;b&gt; deep down")
            #expect(!tree.contains("With a body"))
        }
    }

    /// The commit message shown in the row of entry `name`.
    static func message(of name: String, in page: String) -> String? {
        guard let row = page.range(of: ">\(name)</a></td><td class=\"message\">") else { return nil }
        let rest = page[row.upperBound...]
        guard let open = rest.range(of: "class=\"muted\">"), let close = rest.range(of: "</a>") else { return nil }
        return String(rest[open.upperBound..<close.lowerBound])
    }
}
