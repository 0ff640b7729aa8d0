import CairnModel
import CairnTestSupport
import Testing

/// Signing out ends the session on the server: a copy of its cookie, taken before, no
/// longer signs anyone in; the user's other sessions go on.
@Suite(.timeLimit(.minutes(2))) struct SignOutTests {
    @Test func test_aCopiedCookieStopsWorkingAfterSignOut() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let web = try await WebPagesTests.signIn(stack, ada)
            let other = try await WebPagesTests.signIn(stack, ada)
            let copied = await web.cookies
            #expect(try await web.get("/settings").status == 200)

            let thief = WebSession(stack.gatewayURL)
            for (name, value) in copied { await thief.setCookie(name, value) }
            #expect(try await thief.get("/settings").status == 200)

            try await web.get("/")
            let out = try await web.post("/logout", [:])
            #expect(out.status == 303)
            let refused = try await thief.get("/settings")
            #expect(refused.status == 303 && refused.location?.hasPrefix("/login") == true, "the copied cookie still works: \(refused.status)")
            // Only that session ended.
            #expect(try await other.get("/settings").status == 200)
        }
    }
}
