@testable import CairnGateway
import CairnProtocol
import Testing

/// The one HTML escaper and the Markdown sanitiser that every page relies on.
@Suite("HTML safety", .timeLimit(.minutes(5)))
struct HTMLSafetyTests {
    @Test("the escaper replaces the five special characters and leaves everything else alone")
    func escaper() {
        #expect(HTMLEscaper.escape(#"<a href="x" title='y'>&</a>"#) == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
        #expect(HTMLEscaper.escape("plain text, ünïcode ✓ 🎉") == "plain text, ünïcode ✓ 🎉")
        #expect(HTMLEscaper.escape("") == "")
        #expect(HTMLEscaper.escape("🎉<🎉") == "🎉&lt;🎉")
    }

    @Test("Markdown keeps formatting and links, and loses script, handlers and javascript: URLs")
    func markdownSanitised() {
        let html = MarkdownRenderer.html("""
            # Title

            Some **bold** text and [a link](https://example.com/?a=1&b=2).

            [click](javascript:alert(3)) [sneaky](jav&#x61;script:alert(4)) [also](JaVaScRiPt&colon;alert(5))

            <script>alert(1)</script>
            <img src="x.png" onerror="alert(2)">
            <a href="data:text/html,hi">data</a>
            <iframe src="https://evil.example"></iframe>
            """)
        #expect(html.contains("<h1>Title</h1>"))
        #expect(html.contains("<strong>bold</strong>"))
        #expect(html.contains(#"<a href="https://example.com/?a=1&amp;b=2" rel="nofollow noopener">a link</a>"#))
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;"))
        #expect(!html.contains("onerror"))
        #expect(html.contains(">click</a>"))
        #expect(!html.lowercased().contains("href=\"jav"))
        #expect(!html.contains("data:text"))
        #expect(!html.contains("<iframe"))
        #expect(html.contains(#"<img src="x.png">"#))
    }

    @Test("URLs: relative, http, https and mailto pass; every other scheme, however written, does not")
    func urls() {
        for safe in ["/a/b", "docs/x.md", "#top", "https://x.org", "http://x.org", "mailto:a@b.c", "?q=1"] {
            #expect(HTMLSanitizer.isSafeURL(safe), "\(safe)")
        }
        for unsafe in ["javascript:alert(1)", " JavaScript:x", "java\tscript:x", "&#106;avascript:x", "vbscript:x", "data:text/html,x", "javascript&colon;x"] {
            #expect(!HTMLSanitizer.isSafeURL(unsafe), "\(unsafe)")
        }
    }

    @Test("catch-all paths split into the longest matching ref and a path")
    func refAndPath() {
        let refs = GitRefs(head: "main", branches: [.init(name: "main", sha: "a", target: nil), .init(name: "feature/x", sha: "b", target: nil)], tags: [.init(name: "v1.0", sha: "c", target: nil)])
        #expect(RefAndPath.resolve(["feature", "x", "src", "a.swift"], refs: refs) == RefAndPath(ref: "feature/x", path: "src/a.swift"))
        #expect(RefAndPath.resolve(["main"], refs: refs) == RefAndPath(ref: "main", path: ""))
        #expect(RefAndPath.resolve(["v1.0", "README"], refs: refs) == RefAndPath(ref: "v1.0", path: "README"))
        #expect(RefAndPath.resolve(["abcdef1", "x"], refs: refs) == RefAndPath(ref: "abcdef1", path: "x"))
        #expect(RefAndPath.resolve(["nope", "x"], refs: refs) == nil)
    }

    @Test("only local paths may follow sign-in")
    func nextAfterSignIn() {
        #expect(AccountPagesController.safeNext("/ada/repo") == "/ada/repo")
        #expect(AccountPagesController.safeNext("/ada/repo/commits/main?page=2#top") == "/ada/repo/commits/main?page=2#top")
        let bad: [String?] = [
            "//evil.example", "https://evil.example", "/\\evil.example", "evil", nil, "/\t/evil.example", "/\n/evil.example", "/\r//evil.example",
            "/ /evil.example", "/a\\b", "/\u{200B}/evil.example", "/\u{00A0}/evil.example", "/\u{0000}/evil.example",
        ]
        for bad in bad {
            #expect(AccountPagesController.safeNext(bad) == "/")
        }
    }
}
