import CairnModel
import CairnTestSupport
import Testing

/// Signing in as a name that does not exist costs what a wrong password costs, so the time
/// an attempt takes does not tell which accounts exist.
@Suite(.timeLimit(.minutes(5))) struct SignInTimingTests {
    @Test func test_anUnknownNameTakesAsLongAsAWrongPassword() async throws {
        try await withTestDatabase { client, _ in
            let users = UserStore(client: client, logger: TestEnvironment.logger)
            _ = try await users.create(username: "ada", email: "ada@example.com", password: "password-ada", isAdmin: false)
            func fastest(_ login: String) async throws -> Duration {
                var best = Duration.seconds(3600)
                for _ in 0..<3 {
                    let started = ContinuousClock.now
                    #expect(try await users.authenticate(login: login, password: "not-the-password") == nil)
                    best = min(best, ContinuousClock.now - started)
                }
                return best
            }
            let wrongPassword = try await fastest("ada")
            let unknownName = try await fastest("nobody-by-this-name")
            // Without the decoy check an unknown name answers in about a millisecond, against
            // tens of milliseconds for bcrypt: a factor of three leaves room for a busy machine.
            #expect(unknownName * 3 > wrongPassword, "unknown name \(unknownName), wrong password \(wrongPassword)")
        }
    }
}
