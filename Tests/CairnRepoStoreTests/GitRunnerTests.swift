@testable import CairnRepoStore
import Foundation
import NIOCore
import Synchronization
import Testing

/// The repository store's git runner: a short command that runs past its time limit is
/// killed and reported as such, in about its limit, not when it would have ended.
@Suite(.timeLimit(.minutes(5))) struct GitRunnerTests {
    @Test func test_aCommandPastItsTimeLimitIsStoppedAndSaysSo() async throws {
        let started = ContinuousClock.now
        do {
            // An alias that runs a shell: it stands for a git command that hangs.
            let alias = ["GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "alias.hang", "GIT_CONFIG_VALUE_0": "!sleep 30"]
            try await Git().run(["hang"], environment: alias, timeLimit: .milliseconds(500))
            Issue.record("the command ran to its end")
        } catch let error as RepoStoreError {
            #expect(error.description == "git hang took longer than 0.5 seconds and was stopped", "\(error)")
            #expect("\(error.status)".hasPrefix("503"))
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        // Within its limit a command runs as before.
        #expect(try await Git().run(["--version"]).hasPrefix("git version"))
    }
}

/// The streaming side of the same runner: output arrives as git makes it, a failing command
/// is reported with its status and error, and one past its time limit is stopped with every
/// process it started (here a shell and its `sleep`, which hold the output open as
/// upload-pack does for http-backend).
@Suite(.timeLimit(.minutes(5))) struct GitStreamTests {
    static let hang = ["GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "alias.hang", "GIT_CONFIG_VALUE_0": "!echo started; sleep 30"]

    @Test func test_aStreamPastItsTimeLimitIsStoppedWithItsChildren() async throws {
        let started = ContinuousClock.now
        let seen = Flag()
        do {
            _ = try await Git().stream(["hang"], environment: Self.hang, timeLimit: .milliseconds(700)) { _, output in
                while let chunk = try await output.read() {
                    if String(buffer: chunk).contains("started") { seen.set(true) }
                }
            }
            Issue.record("the command ran to its end")
        } catch let error as RepoStoreError {
            #expect(error.description == "git hang took longer than 0.7 seconds and was stopped", "\(error)")
        }
        #expect(seen.value, "the output before the stop arrived")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func test_aStreamCarriesInputAndOutputAndReportsFailure() async throws {
        let collected = Collected()
        let exit = try await Git().stream(["hash-object", "--stdin"], readsInput: true) { input, output in
            try await input.write(ByteBuffer(string: "hello\n"))
            input.close()
            while let chunk = try await output.read() { collected.append(String(buffer: chunk)) }
        }
        #expect(exit.succeeded)
        #expect(collected.text == "ce013625030ba8dba906f756967f9e9ca394464a\n")
        let failed = try await Git().stream(["cat-file", "-p", "0000000000000000000000000000000000000001"], in: NSTemporaryDirectory()) { _, output in
            while try await output.read() != nil {}
        }
        #expect(!failed.succeeded && failed.status.contains("128") && failed.stderr.contains("not a git repository"), "\(failed)")
    }
}

/// Text collected by a stream's reader.
private final class Collected: Sendable {
    private let state = Mutex("")
    var text: String { state.withLock { $0 } }
    func append(_ more: String) { state.withLock { $0 += more } }
}
