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

    /// The address receives password notices: changing it takes the current password, so a
    /// borrowed signed-in browser cannot take the account over.
    @Test func test_changingTheEmailAddressNeedsThePassword() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let web = try await WebPagesTests.signIn(stack, ada)
            try await web.get("/settings")
            #expect(try await web.post("/settings/email", ["email": "mallory@example.com"]).status == 422)
            #expect(try await web.post("/settings/email", ["email": "mallory@example.com", "password": "wrong-password"]).status == 422)
            #expect(try await stack.users.find(id: ada.user.id)?.email == "ada@example.com")
            #expect(try await web.post("/settings/email", ["email": "ada@new.example.com", "password": ada.password]).status == 303)
            #expect(try await stack.users.find(id: ada.user.id)?.email == "ada@new.example.com")
        }
    }
}
