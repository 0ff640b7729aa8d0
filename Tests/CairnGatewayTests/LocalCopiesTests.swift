@testable import CairnGateway
import Testing

/// The gateway's copies of cached pages stay within their byte limit and their lifetime.
@Suite(.timeLimit(.minutes(1))) struct LocalCopiesTests {
    @Test func test_copiesAreKeptAndReadBackByKey() {
        let copies = LocalCopies()
        copies.keep("page", .text("<p>hello</p>"))
        copies.keep("piece", .bytes([1, 2, 3]))
        guard case .text(let text) = copies.value("page"), case .bytes(let bytes) = copies.value("piece") else {
            Issue.record("a kept copy was not read back")
            return
        }
        #expect(text == "<p>hello</p>" && bytes == [1, 2, 3])
        #expect(copies.value("other") == nil)
        // Kept again under the same key: replaced, counted once.
        copies.keep("page", .text("<p>hi</p>"))
        #expect(copies.byteCount == "page".utf8.count + 9 + "piece".utf8.count + 3)
    }

    @Test func test_theByteLimitHoldsAndOversizedValuesAreNotKept() {
        let copies = LocalCopies(byteLimit: 10_000)
        for n in 0..<100 { copies.keep("key\(n)", .bytes([UInt8](repeating: 7, count: 1_000))) }
        #expect(copies.byteCount <= 10_000)
        // The last one kept is there: eviction makes room before keeping.
        #expect(copies.value("key99") != nil)
        copies.keep("huge", .bytes([UInt8](repeating: 1, count: 3_000)))
        #expect(copies.value("huge") == nil, "more than a quarter of the limit is not kept")
    }

    @Test func test_aCopyExpiresAfterItsLifetime() async throws {
        let copies = LocalCopies(lifetime: .milliseconds(50))
        copies.keep("page", .text("x"))
        copies.keep("shorter", .text("y"), lifetime: .milliseconds(1))
        copies.keep("longer", .text("z"), lifetime: .seconds(60))
        try await Task.sleep(for: .milliseconds(120))
        #expect(copies.value("page") == nil && copies.value("shorter") == nil)
        #expect(copies.value("longer") == nil, "never kept longer than the copies' own lifetime")
    }
}
