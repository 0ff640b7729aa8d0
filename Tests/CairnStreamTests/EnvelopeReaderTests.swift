@testable import CairnStream
import CairnProtocol
import Foundation
import Testing

/// The stream's own envelope reader reads what `CairnJSON` writes and any other valid JSON
/// object of the same shape, and refuses malformed input with the place it broke.
@Suite(.timeLimit(.minutes(5))) struct EnvelopeReaderTests {
    @Test func test_readsWhatCairnWrites() throws {
        let at = Date(timeIntervalSince1970: 1_795_410_656.123)
        let envelope = EventEnvelope(type: "repo.view", repoID: 42, actor: 7, visitor: "00ff", data: .object(["path": .string("/a/b \"q\" ü 🙂"), "title": .string("T\n")]), at: at)
        let event = try EnvelopeReader.read(Array(try CairnJSON.encode(envelope)))
        #expect(event.v == 1 && event.type == "repo.view" && event.repoID == 42 && event.visitor == "00ff")
        #expect(event.at == at)
        #expect(event.path == "/a/b \"q\" ü 🙂")
        #expect(event.title == "T\n")
    }

    @Test func test_acceptsAnyOrderWhitespaceEscapesNullsAndUnknownFields() throws {
        let text = """
             { "data" : {"extra": [1, {"x": [true, false, null]}, "s"], "commits": 3e0, "path": "\\u00e9\\ud83d\\ude42\\/x"},
               "at": "2026-11-23T05:10:56Z", "unknown": {"deep": [[]]}, "type": "repo.push", "repo_id": 9, "visitor": null, "v": 1 }\t
            """
        let event = try EnvelopeReader.read(Array(text.utf8))
        #expect(event.type == "repo.push" && event.repoID == 9 && event.visitor == nil && event.commits == 3)
        #expect(event.path == "é🙂/x")
    }

    @Test func test_refusesMalformedEnvelopesSayingWhy() {
        let cases: [(String, String)] = [
            ("", "unexpected end"),
            ("[]", "expected an object"),
            (#"{"v": 1, "type": "repo.view"}"#, "missing at"),
            (#"{"v": 1, "at": "2026-11-23T05:10:56Z"}"#, "missing type"),
            (#"{"type": "x", "at": "2026-11-23T05:10:56Z"}"#, "missing v"),
            (#"{"v": 1.5, "type": "x", "at": "2026-11-23T05:10:56Z"}"#, "v must be a whole number"),
            (#"{"v": 1, "type": 3, "at": "2026-11-23T05:10:56Z"}"#, "type must be a string"),
            (#"{"v": 1, "type": "x", "at": "yesterday"}"#, "not an ISO-8601 date"),
            (#"{"v": 1, "type": "x", "at": "2026-11-23T05:10:56Z", "data": {"commits": "many"}}"#, "data.commits must be a number"),
            (#"{"v": 1, "type": "x", "at": "2026-11-23T05:10:56Z"} trailing"#, "unexpected text after the object"),
            (#"{"v": 1, "type": "x\q", "at": "2026-11-23T05:10:56Z"}"#, "unknown escape"),
            (#"{"v": 1, "type": "x"#, "unterminated string"),
            (#"{"v": 1 "type": "x"}"#, "expected ',' or '}'"),
        ]
        for (text, expected) in cases {
            do {
                _ = try EnvelopeReader.read(Array(text.utf8))
                Issue.record("read \(text)")
            } catch {
                #expect(error.description.contains(expected), "\(text): \(error.description)")
            }
        }
    }
}
