import CairnModel
import CairnTestSupport
import NIOHTTP1
import Testing

/// Signing out ends the session on the server: a copy of its cookie, taken before, no
/// longer signs anyone in; the user's other sessions go on.
@Suite(.timeLimit(.minutes(5))) struct SignOutTests {
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

    /// A session ended elsewhere (another gateway, an operator) stops working here within
    /// the second a gateway keeps a session's user; forms ask the database every time.
    @Test func test_aSessionEndedElsewhereStopsWithinASecond() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let web = try await WebPagesTests.signIn(stack, ada)
            #expect(try await web.get("/settings").status == 200)
            try await stack.users.signOutEverywhere(userID: ada.user.id)
            let form = try await web.post("/settings/sessions/revoke", [:])
            #expect(form.status == 303 && form.location?.hasPrefix("/login") == true, "a form used a kept session: \(form.status)")
            let ended = try await eventually(timeout: .seconds(3)) { try await web.get("/settings").status == 303 }
            #expect(ended, "the session still worked 3 s after it ended")
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

    /// Signing in starts a new session: a cookie or CSRF token planted before (session
    /// fixation) is worth nothing after, and the cookie is out of scripts' and other sites' reach.
    @Test func test_signingInRotatesTheSessionAndTheCookieIsGuarded() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let web = WebSession(stack.gatewayURL)
            let form = try await web.get("/login")
            let before = await web.cookies[PageSessionsCookie.name]
            let tokenBefore = try #require(form.csrf)
            let signedIn = try await web.post("/login", ["login": "ada", "password": ada.password])
            #expect(signedIn.status == 303)
            let setCookie = try #require(signedIn.headers["Set-Cookie"].first { $0.hasPrefix(PageSessionsCookie.name + "=") })
            for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] { #expect(setCookie.contains(attribute), "\(attribute) missing in \(setCookie)") }
            #expect(await web.cookies[PageSessionsCookie.name] != before)
            // The token of the page shown before signing in no longer works.
            #expect(try await web.post("/settings/sessions/revoke", [:], csrf: tokenBefore).status == 403)
            // The anonymous cookie from before signs no one in.
            let planted = WebSession(stack.gatewayURL)
            if let before { await planted.setCookie(PageSessionsCookie.name, before) }
            #expect(try await planted.get("/settings").status == 303)
        }
    }
}

/// The session cookie's name, as the gateway sets it.
enum PageSessionsCookie {
    static let name = "cairn_session"
}
