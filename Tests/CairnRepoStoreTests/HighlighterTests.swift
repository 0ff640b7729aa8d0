@testable import CairnRepoStore
import CairnProtocol
import Logging
import Testing

/// The repository store's highlighter, with Debian's Pygments: one long-running Python
/// process, whose output is only ever passed on as span elements around escaped text.
@Suite(.timeLimit(.minutes(2))) struct HighlighterTests {
    let highlighter = Highlighter(logger: Logger(label: "test"))

    @Test func test_codeComesBackOneHighlightedLinePerLine() async throws {
        let source = "/* a comment\n   over two lines */\nint main(void) { return \"<b>\" != 0; }\n"
        let answers = await highlighter.highlight([.init(lexer: "c", text: source), .init(lexer: "python", text: "def f():\n    return 1\n")])
        let c = try #require(answers[0])
        #expect(c.count == 3)
        #expect(c[0] == #"<span class="cm">/* a comment</span>"#)  // a span never crosses a line
        #expect(c[2].contains(#"<span class="kt">int</span>"#))
        #expect(c[2].contains("&quot;&lt;b&gt;&quot;"))
        #expect(try #require(answers[1])[0].contains(#"<span class="k">def</span>"#))
        // The same process answers again.
        #expect(await highlighter.highlight([.init(lexer: "go", text: "package main\n")])[0]?.first?.contains("package") == true)
        await highlighter.shutDown()
        #expect(await highlighter.highlight([.init(lexer: "c", text: "int x;\n")]) == [nil])  // stopped for good
    }

    @Test func test_unknownLexersAndEmptyTextAreLeftPlain() async {
        let answers = await highlighter.highlight([.init(lexer: "no-such-language", text: "x\n"), .init(lexer: "c", text: "")])
        #expect(answers.count == 2)
        #expect(answers.allSatisfy { $0 == nil })
        await highlighter.shutDown()
    }

    @Test func test_onlySpanElementsPass() {
        #expect(Highlighter.isSafe(#"<span class="k">if</span> x &lt; 1"#))
        #expect(Highlighter.isSafe("plain text"))
        #expect(!Highlighter.isSafe("<script>alert(1)</script>"))
        #expect(!Highlighter.isSafe(#"<span class="k" onclick="x">if</span>"#))
        #expect(!Highlighter.isSafe(#"<span class="a"b">x</span>"#))
        #expect(!Highlighter.isSafe("x > y"))
        #expect(Highlighter.lines("<span>a</span>\nb\n", matching: "a\nb\n") == nil)  // a span without a class
        #expect(Highlighter.lines("a\n", matching: "a\nb\n") == nil)  // a line missing
        #expect(Highlighter.lines("a\nb\n", matching: "a\nb") == ["a", "b"])
    }

    @Test func test_aMissingPythonMeansPlainTextNotAFailure() async {
        let missing = Highlighter(python: "/nonexistent/python3", logger: Logger(label: "test"))
        #expect(await missing.highlight([.init(lexer: "c", text: "int x;\n")]) == [nil])
        #expect(await missing.highlight([.init(lexer: "c", text: "int y;\n")]) == [nil])
    }
}
