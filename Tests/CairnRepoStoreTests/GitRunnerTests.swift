@testable import CairnRepoStore
import Foundation
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
