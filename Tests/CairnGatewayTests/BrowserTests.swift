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

    @Test("a browser opens a pull request from a pushed branch, comments, comments on a line and merges it")
    func pullRequest() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "app")
            let url = stack.cloneURL("ada/app", credentials: ada.tokenCredentials)
            let work = try await stack.makeWorkingCopy("app", commits: 1)
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            try await stack.git(["checkout", "--quiet", "-b", "topic"], in: work)
            try "def greet():\n    return 'hello'\n".write(toFile: "\(work)/greet.py", atomically: true, encoding: .utf8)
            try await stack.git(["add", "greet.py"], in: work)
            try await stack.git(["commit", "--quiet", "-m", "Add greet"], in: work)
            try await stack.git(["push", "--quiet", url, "topic"], in: work)
            let result = try await Subprocess.run(
                .path("/usr/bin/python3"),
                arguments: ["\(root)/Tests/Browser/pull_request.py", stack.gatewayURL, "\(root)/screenshots", "ada", ada.password, "ada/app", "topic"],
                output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            #expect(result.terminationStatus.isSuccess, "\(result.standardOutput)\n\(result.standardError)")
            let main = try await stack.git(["ls-remote", url, "refs/heads/main"]).output
            try await stack.git(["fetch", "--quiet", url, "main"], in: work)
            #expect(try await stack.git(["log", "-1", "--format=%s", "FETCH_HEAD"], in: work).output.hasPrefix("Browser <b>change</b> (#1)"), "\(main)")
            // "Delete the head branch" was ticked.
            #expect(try await stack.git(["ls-remote", url, "refs/heads/topic"]).output.isEmpty)
        }
    }
}
