import CairnModel
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// Passwords sent over HTTP basic (git, the API) are limited like the sign-in form: ten
/// failures an account and fifty an address in fifteen minutes, counted in one Redis step so
/// parallel guesses cannot slip past, answered 429 with `Retry-After`; the account's tokens
/// keep working meanwhile.
@Suite(.timeLimit(.minutes(6))) struct PasswordLimitTests {
    static func basic(_ login: String, _ password: String) -> (String, String) {
        ("Authorization", "Basic " + Data("\(login):\(password)".utf8).base64EncodedString())
    }

    @Test func test_parallelGuessesAreLimitedAndTokensKeepWorking() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "vault", isPrivate: true)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<30 { group.addTask { try await stack.api(.GET, "/api/v3/user", headers: [Self.basic("ada", "guess-\(n)")]).0 } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 401 }.count == 10, "\(statuses.sorted())")
            #expect(statuses.filter { $0 == 429 }.count == 20, "\(statuses.sorted())")
            let (status, headers, _) = try await stack.apiWithHeaders(.GET, "/api/v3/user", headers: [Self.basic("ada", ada.password)])
            #expect(status == 429, "the right password waits out the lock too")
            #expect(Int(headers.first(name: "Retry-After") ?? "") ?? 0 > 0)
            // git over HTTP is limited the same way.
            let git = try await stack.tryGit(["ls-remote", stack.cloneURL("ada/vault", credentials: "ada:another-guess")])
            #expect(!git.succeeded && git.error.contains("429"), "\(git.error)")
            // The owner's token still works.
            #expect(try await stack.api(.GET, "/api/v3/user", as: ada).0 == 200)
            #expect(try await stack.tryGit(["ls-remote", stack.cloneURL("ada/vault", credentials: ada.tokenCredentials)]).succeeded)
        }
    }

    @Test func test_oneAddressGuessingManyAccountsIsLimited() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            var statuses: [Int] = []
            for n in 0..<51 {
                statuses.append(try await stack.api(.GET, "/api/v3/user", headers: [Self.basic("someone-\(n)", "guess")]).0)
            }
            #expect(statuses.prefix(50).allSatisfy { $0 == 401 } && statuses.last == 429, "\(statuses)")
            // A right password from that address waits too; from another address it works.
            #expect(try await stack.api(.GET, "/api/v3/user", headers: [Self.basic("ada", ada.password)]).0 == 429)
            #expect(try await stack.api(.GET, "/api/v3/user", headers: [Self.basic("ada", ada.password), ("X-Real-IP", "192.0.2.10")]).0 == 200)
        }
    }
}
