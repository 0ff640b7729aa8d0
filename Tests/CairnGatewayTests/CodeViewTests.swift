import CairnModel
import NIOCore
import NIOHTTP1
import CairnTestSupport
@testable import CairnGateway
import Foundation
import Testing

/// What the code browser shows of code: diffs with line numbers and more context on
/// request, blame, and highlighting that never lets a file's content become markup.
@Suite("Code views", .timeLimit(.minutes(5)))
struct CodeViewTests {
    /// A repository with a C file written by one commit and changed by a second.
    static func cRepository(_ stack: CairnStack, isPrivate: Bool = false) async throws -> (TestUser, String) {
        let ada = try await stack.makeUser("ada")
        try await stack.makeRepository(ada, "code", isPrivate: isPrivate)
        let work = try await stack.makeWorkingCopy("code", commits: 1)
        let first = (1...40).map { "int line\($0) = \($0);" }.joined(separator: "\n") + "\n/* </span><script>alert(1)</script> */\n"
        try first.write(toFile: "\(work)/main.c", atomically: true, encoding: .utf8)
        try await stack.git(["add", "."], in: work)
        try await stack.git(["commit", "--quiet", "-m", "Add main.c"], in: work)
        let second = first.replacingOccurrences(of: "int line20 = 20;", with: "long line20 = 2000;")
        try second.write(toFile: "\(work)/main.c", atomically: true, encoding: .utf8)
        try "a <b>plain</b> note\n".write(toFile: "\(work)/notes.txt", atomically: true, encoding: .utf8)
        try await stack.git(["add", "notes.txt"], in: work)
        try await stack.git(["commit", "--quiet", "--author=Grace <grace@example.com>", "-am", "Widen line 20"], in: work)
        try await stack.git(["push", "--quiet", stack.cloneURL("ada/code", credentials: ada.tokenCredentials), "main"], in: work)
        let head = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
        return (ada, head)
    }

    @Test("a diff numbers each line on both sides, links each number, and widens its context on request")
    func diffLineNumbers() async throws {
        try await CairnStack.with { stack in
            let (_, head) = try await Self.cRepository(stack)
            let web = WebSession(stack.gatewayURL)
            let page = try await web.get("/ada/code/commit/\(head)")
            #expect(page.status == 200)
            // The removed line has its old number, the added one its new number, context both.
            #expect(page.body.contains(##"<td class="ln"><a id="diff-0-L20" href="#diff-0-L20">20</a></td><td class="ln"></td>"##))
            #expect(page.body.contains(##"<td class="ln"></td><td class="ln"><a id="diff-0-R20" href="#diff-0-R20">20</a></td>"##))
            #expect(page.body.contains(##"<a id="diff-0-L17" href="#diff-0-L17">17</a></td><td class="ln"><a id="diff-0-R17" href="#diff-0-R17">17</a>"##))
            #expect(!page.body.contains(#"id="diff-0-R16""#))  // three lines of context, as git gives
            #expect(page.body.contains(#"<a class="more-context" href="?context=25#diff-0">"#))
            let wider = try await web.get("/ada/code/commit/\(head)?context=25")
            #expect(wider.body.contains(#"id="diff-0-R1""#))
            #expect(wider.body.contains(#"id="diff-0-R41""#))
            #expect(wider.body.contains(#"href="?context=200#diff-0""#))
            let whole = try await web.get("/ada/code/commit/\(head)?context=1000000")
            #expect(whole.status == 200)
            #expect(!whole.body.contains("more-context"))
            for bad in ["-1", "7", "1000001", "99999999999999999999", "abc"] {
                let refused = try await web.get("/ada/code/commit/\(head)?context=\(bad)")
                #expect(refused.status == 422 || refused.status == 400, "context=\(bad) answered \(refused.status)")
            }
        }
    }

    @Test("files, blame and diffs are highlighted, and a file's text stays text")
    func highlighting() async throws {
        try await CairnStack.with { stack in
            let (_, head) = try await Self.cRepository(stack)
            let web = WebSession(stack.gatewayURL)
            let file = try await web.get("/ada/code/blob/main/main.c")
            #expect(file.body.contains(##"<tr id="L1"><td class="ln"><a href="#L1">1</a></td><td class="src"><span class="kt">int</span>"##))
            #expect(file.body.contains(#"<span class="cm">/* &lt;/span&gt;&lt;script&gt;alert(1)&lt;/script&gt; */</span>"#))
            #expect(!file.body.contains("<script>alert"))
            #expect(file.body.contains(#"href="/ada/code/blame/main/main.c""#))
            let diff = try await web.get("/ada/code/commit/\(head)")
            #expect(diff.body.contains(#"<td class="src">+<span class="kt">long</span>"#))
            #expect(diff.body.contains(#"<td class="src">-<span class="kt">int</span>"#))
            let blame = try await web.get("/ada/code/blame/main/main.c")
            #expect(blame.body.contains(#"<span class="kt">long</span>"#))
            #expect(!blame.body.contains("<script>alert"))
            // A file of a language Cairn does not highlight stays plain, escaped text.
            let notes = try await web.get("/ada/code/blob/main/notes.txt")
            #expect(notes.body.contains(#"<td class="src">a &lt;b&gt;plain&lt;/b&gt; note</td>"#))
        }
    }

    @Test("blame names the commit, author and age of each line, grouped by commit, and hides private repositories")
    func blame() async throws {
        try await CairnStack.with { stack in
            let (ada, head) = try await Self.cRepository(stack, isPrivate: true)
            let outsider = WebSession(stack.gatewayURL)
            #expect(try await outsider.get("/ada/code/blame/main/main.c").status == 404)
            let web = try await WebPagesTests.signIn(stack, ada)
            let page = try await web.get("/ada/code/blame/main/main.c")
            #expect(page.status == 200)
            let groups = page.body.matches(of: /<tr id="L(\d+)" class="first"><td class="commit"><a href="\/ada\/code\/commit\/([0-9a-f]{40})"/).map { (Int($0.1)!, String($0.2)) }
            // Lines 1–19 from the first commit, 20 from the second, 21–41 from the first again.
            #expect(groups.map(\.0) == [1, 20, 21])
            #expect(groups[1].1 == head)
            #expect(groups[0].1 == groups[2].1 && groups[0].1 != head)
            #expect(page.body.contains("Widen line 20"))
            #expect(page.body.contains("(Grace)"))
            #expect(page.body.contains(#"<tr id="L41">"#))
            #expect(try await web.get("/ada/code/blame/main/missing.c").status == 404)
            #expect(try await web.get("/ada/code/blame/main").status == 404)
            #expect(try await web.get("/ada/code/blame/no-such-branch/main.c").status == 404)
        }
    }

    @Test("a commit of 10,000 files and megabytes of diff gets a bounded page that says what it left out")
    func hugeCommit() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "huge")
            let work = try await stack.makeWorkingCopy("huge", commits: 1)
            try FileManager.default.createDirectory(atPath: "\(work)/f", withIntermediateDirectories: true)
            for index in 0..<10_000 { try "file \(index)\n".write(toFile: "\(work)/f/\(index).txt", atomically: false, encoding: .utf8) }
            try String(repeating: "a line of a very large file\n", count: 120_000).write(toFile: "\(work)/big.txt", atomically: false, encoding: .utf8)
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "Everything at once"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/huge", credentials: ada.tokenCredentials), "main"], in: work)
            let head = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let page = try await WebSession(stack.gatewayURL).get("/ada/huge/commit/\(head)")
            #expect(page.status == 200)
            #expect(page.body.contains("10001 files changed"))
            #expect(page.body.contains(#"id="diff-cut""#))  // big.txt's 3.4 MB diff was not read whole
            #expect(page.body.contains("9701 more files changed, not listed here."))
            #expect(page.body.contains("<strong>big.txt</strong>"))
            #expect(page.body.contains("in the diffs shown"))  // lines counted only where a diff was read
            #expect(page.body.count < 2_000_000, "the page is \(page.body.count) bytes")
        }
    }

    @Test("large pages go gzipped to browsers that take it, the same page as the plain one, anonymous or signed in")
    func gzippedPages() async throws {
        try await CairnStack.with { stack in
            let (ada, head) = try await Self.cRepository(stack)
            for web in [WebSession(stack.gatewayURL), try await WebPagesTests.signIn(stack, ada)] {
                for path in ["/ada/code/blob/main/main.c", "/ada/code/blame/main/main.c", "/ada/code/commit/\(head)"] {
                    let plain = try await web.get(path)
                    // Twice: made and kept the first time, read from the cache the second.
                    for _ in 1...2 {
                        let (page, unzipped) = try await web.getAcceptingGzip(path)
                        #expect(page.status == 200)
                        #expect(page.headers.first(name: "Vary") == "Accept-Encoding")
                        #expect(unzipped == plain.body, "\(path): the gzipped page differs from the plain one")
                        #expect(page.headers.first(name: "Content-Length").flatMap(Int.init) ?? Int.max < plain.body.utf8.count)
                    }
                }
                // Small pages stay plain.
                #expect(try await web.getAcceptingGzip("/ada/code").unzipped == nil)
            }
        }
    }

    @Test func test_piecesDeflatedApartJoinIntoOneGzipBody() throws {
        let pieces = ["<html><head>", String(repeating: "<tr><td>line</td></tr>\n", count: 20_000), "", "é ✓ </html>\n"]
        let joined = DeflatedPiece.gzip(pieces.map { DeflatedPiece($0, level: $0.count > 100 ? 6 : 1) })
        // gzip checks the combined CRC and length.
        let unzipped = try WebSession.gunzip(Array(joined.readableBytesView))
        #expect(String(decoding: unzipped, as: UTF8.self) == pieces.joined())
        #expect(joined.readableBytes < 10_000)
        let piece = DeflatedPiece(pieces[1])
        #expect(DeflatedPiece(stored: piece.stored) == piece)
        #expect(DeflatedPiece(stored: [1, 2, 3]) == nil)
    }

    @Test func test_gzipIsTakenUnlessRefused() {
        #expect(Pages.acceptsGzip("gzip, deflate, br"))
        #expect(Pages.acceptsGzip("br;q=1.0, GZIP;q=0.5"))
        #expect(Pages.acceptsGzip("*"))
        #expect(!Pages.acceptsGzip(nil))
        #expect(!Pages.acceptsGzip("deflate, br"))
        #expect(!Pages.acceptsGzip("gzip;q=0"))
        #expect(!Pages.acceptsGzip("gzip; q=0.000"))
        #expect(!Pages.acceptsGzip("gzipped"))
        #expect(!Pages.acceptsGzip("gzip;q=0, *"))  // named refusal wins over the wildcard
        #expect(!Pages.acceptsGzip("*;q=0"))
        #expect(Pages.acceptsGzip("br, *"))
    }

    @Test func test_hunkHeadersNumberTheLinesThatFollow() {
        let patch = "@@ -9,3 +9,4 @@ int f()\n a\n-b\n+B\n+C\n c\n\\ No newline at end of file\n@@ -99999999999999999999,1 +0,0 @@\n-x\n"
        let lines = DiffLine.lines(patch, limit: 100).lines
        #expect(lines.map(\.kind) == ["hunk", "ctx", "del", "add", "add", "ctx", "note", "hunk", "del"])
        #expect(lines.map(\.old) == [nil, 9, 10, nil, nil, 11, nil, nil, nil])
        #expect(lines.map(\.new) == [nil, 9, nil, 10, 11, 12, nil, nil, nil])
        #expect(DiffLine.lines(patch, limit: 3).truncated)
        let sides = DiffLine.sides(lines)
        #expect(sides.old == "a\nb\nc\nx\n")
        #expect(sides.new == "a\nB\nC\nc\n")
        let marked = DiffLine.highlighted(lines, old: ["A", "<b>", "C", "X"], new: ["1", "2", "3", "4"])
        #expect(marked.compactMap(\.html) == [" 1", "-<b>", "+2", "+3", " 4", "-X"])
        #expect(DiffLine.highlighted(lines, old: ["too few"], new: nil).allSatisfy { $0.html == nil })
        // A marker followed by a combining mark is still an added line, its mark kept.
        let combining = DiffLine.lines("@@ -1 +1 @@\n-a\n+\u{301}b\n", limit: 10).lines
        #expect(combining.map(\.kind) == ["hunk", "del", "add"])
        #expect(DiffLine.sides(combining).new == "\u{301}b\n")
    }
}
