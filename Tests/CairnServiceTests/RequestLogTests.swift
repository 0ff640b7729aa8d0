import CairnService
import Hummingbird
import HummingbirdCore
import Testing

/// Request logs keep the path and query but never a signed link's token.
@Suite(.timeLimit(.minutes(1))) struct RequestLogTests {
    @Test func test_secretQueryValuesAreLeftOutOfTheLog() {
        typealias Log = RequestLogMiddleware<BasicRequestContext>
        #expect(Log.loggable(URI("/dl/ab12?token=eyJzZWNyZXQ.123.mac")) == "/dl/ab12?token=…")
        #expect(Log.loggable(URI("/dl/ab12?x=1&token=secret&access_token=t2&y")) == "/dl/ab12?x=1&token=…&access_token=…&y")
        #expect(Log.loggable(URI("/repos/1/info/refs?service=git-upload-pack")) == "/repos/1/info/refs?service=git-upload-pack")
        #expect(Log.loggable(URI("/explore")) == "/explore")
        #expect(!Log.loggable(URI("/dl/x?token=secret")).contains("secret"))
    }
}
