import CairnTestSupport
import Foundation
import Subprocess
import SystemPackage
import Testing

/// A real headless Chromium goes through the site: `Tests/Browser/sign_up_and_browse.py`
/// (Selenium with Debian's chromium-driver) against a live gateway, repository store and
/// stream processor.
/// Screenshots land in `screenshots/` at the top of the work tree (git ignores it).
@Suite("Browser", .timeLimit(.minutes(5)))
struct BrowserTests {
    @Test("a browser signs up, creates a repository, views its tree, a file and a commit, then their traffic")
    func signUpAndBrowse() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        try await CairnStack.with(stream: true, overrides: ["CAIRN_STREAM_BATCH_WAIT_MILLISECONDS": "20"]) { stack in
            let result = try await Subprocess.run(
                .path("/usr/bin/python3"),
                arguments: ["\(root)/Tests/Browser/sign_up_and_browse.py", stack.gatewayURL, "\(root)/screenshots"],
                output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            #expect(result.terminationStatus.isSuccess, "\(result.standardOutput)\n\(result.standardError)")
            #expect(FileManager.default.fileExists(atPath: "\(root)/screenshots/traffic.png"))
        }
    }
}
