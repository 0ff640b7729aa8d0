import CairnModel
import CairnService
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

/// The web pages over a live gateway and repository store: sessions, CSRF, permissions,
/// and what the code browser shows.
@Suite("Web pages", .timeLimit(.minutes(5)))
struct WebPagesTests {
    /// A session signed in as `user` through the sign-in form.
    static func signIn(_ stack: CairnStack, _ user: TestUser) async throws -> WebSession {
        let web = WebSession(stack.gatewayURL)
        try await web.get("/login")
        let page = try await web.post("/login", ["login": user.user.username, "password": user.password])
        guard page.status == 303 else { throw TestFailure("sign-in answered \(page.status): \(page.body)") }
        return web
    }

    @Test("sign up, create a repository with a README, and browse its tree, file, history and commit")
    func signUpAndBrowse() async throws {
        try await CairnStack.with { stack in
            let web = WebSession(stack.gatewayURL)
            try await web.get("/signup")
            let signedUp = try await web.post("/signup", ["username": "grace", "email": "grace@example.com", "password": "hopper-1906"])
            #expect(signedUp.status == 303)
            let home = try await web.get("/")
            #expect(home.body.contains(#"id="nav-profile">grace<"#))

            try await web.get("/new")
            let created = try await web.post("/new", ["name": "compiler", "description": "A <b>bold</b> idea", "visibility": "public", "readme": "1"])
            #expect(created.status == 303)
            #expect(created.location == "/grace/compiler")

            let repo = try await web.get("/grace/compiler")
            #expect(repo.status == 200)
            #expect(repo.body.contains("<h1>compiler</h1>"))                    // README rendered from Markdown
            #expect(repo.body.contains("A &lt;b&gt;bold&lt;/b&gt; idea"))        // description escaped
            #expect(repo.body.contains("/grace/compiler/blob/main/README.md"))
            #expect(repo.body.contains("1 commit"))
            #expect(repo.body.contains("\(stack.configuration.publicURL)/grace/compiler.git"))

            let file = try await web.get("/grace/compiler/blob/main/README.md")
            #expect(file.status == 200)
            #expect(file.body.contains("/grace/compiler/raw/main/README.md"))
            let raw = try await web.get("/grace/compiler/raw/main/README.md")
            #expect(raw.body == "# compiler\n\nA <b>bold</b> idea\n")
            #expect(raw.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
            #expect(raw.headers.first(name: "Content-Security-Policy")?.contains("sandbox") == true)

            let history = try await web.get("/grace/compiler/commits")
            #expect(history.body.contains("Initial commit"))
            let sha = try #require(history.body.firstMatch(of: /\/grace\/compiler\/commit\/([0-9a-f]{40})/)).1
            let commit = try await web.get("/grace/compiler/commit/\(sha)")
            #expect(commit.body.contains(##"<tr class="add"><td class="ln"></td><td class="ln"><a id="diff-0-R1" href="#diff-0-R1">1</a></td><td class="src">+"##))
            #expect(commit.body.contains("# compiler</"))
            let patch = try await web.get("/grace/compiler/commit/\(sha).patch")
            #expect(patch.body.contains("+# compiler"))
            #expect(try await web.get("/grace/compiler/branches").body.contains(">main</a>"))
            #expect(try await web.get("/grace").body.contains("/grace/compiler"))
            #expect(try await web.get("/explore").body.contains("/grace/compiler"))
        }
    }

    @Test("files at a ref and a path: line anchors, nested trees, branch names with slashes, binary and images")
    func treeAndFileViews() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "files")
            let work = try await stack.makeWorkingCopy("files", commits: 1)
            try FileManager.default.createDirectory(atPath: "\(work)/src/deep", withIntermediateDirectories: true)
            try "let x = 1 < 2\nprint(x)\n".write(toFile: "\(work)/src/deep/main.swift", atomically: true, encoding: .utf8)
            try Data([0, 1, 2, 3, 0, 255]).write(to: URL(fileURLWithPath: "\(work)/data.bin"))
            try Data([0x89, 0x50, 0x4e, 0x47]).write(to: URL(fileURLWithPath: "\(work)/logo.png"))
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "More files"], in: work)
            try await stack.git(["branch", "feature/nested"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/files", credentials: ada.tokenCredentials), "main", "feature/nested"], in: work)

            let web = WebSession(stack.gatewayURL)
            let tree = try await web.get("/ada/files/tree/feature/nested/src")
            #expect(tree.status == 200)
            #expect(tree.body.contains(#"href="/ada/files/tree/feature/nested/src/deep""#))
            let source = try await web.get("/ada/files/blob/main/src/deep/main.swift")
            #expect(source.body.contains(##"<tr id="L1"><td class="ln"><a href="#L1">1</a></td><td class="src"><span class="kd">let</span>"##))
            #expect(source.body.contains("&lt;"))
            #expect(source.body.contains(#"<tr id="L2">"#))
            #expect(try await web.get("/ada/files/blob/main/data.bin").body.contains("Binary file not shown"))
            #expect(try await web.get("/ada/files/blob/main/logo.png").body.contains(#"<img src="/ada/files/raw/main/logo.png""#))
            #expect(try await web.get("/ada/files/raw/main/logo.png").headers.first(name: "Content-Type") == "image/png")
            #expect(try await web.get("/ada/files/tree/no-such-branch").status == 404)
            #expect(try await web.get("/ada/files/blob/main/missing.txt").status == 404)
            let traversal = try await web.get("/ada/files/blob/main/src/../../etc/passwd").status
            #expect([400, 404, 422].contains(traversal), "a path climbing out of the tree answered \(traversal)")
        }
    }

    @Test("private repositories are 404 for outsiders on every page; settings are for admins only")
    func privateRepositoryPages() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let reader = try await stack.makeUser("reader")
            let outsider = try await stack.makeUser("outsider")
            let repository = try await stack.makeRepository(ada, "secret", isPrivate: true)
            try await stack.repositories.setCollaborator(repositoryID: repository.id, userID: reader.user.id, permission: .read)
            let work = try await stack.makeWorkingCopy("secret", commits: 1)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/secret", credentials: ada.tokenCredentials), "main"], in: work)

            let paths = [
                "/ada/secret", "/ada/secret/tree/main", "/ada/secret/blob/main/file1.txt", "/ada/secret/raw/main/file1.txt",
                "/ada/secret/commits", "/ada/secret/branches", "/ada/secret/tags", "/ada/secret/settings",
            ]
            let anonymous = WebSession(stack.gatewayURL)
            let stranger = try await Self.signIn(stack, outsider)
            for path in paths {
                #expect(try await anonymous.get(path).status == 404, "anonymous \(path)")
                #expect(try await stranger.get(path).status == 404, "outsider \(path)")
            }
            #expect(!(try await anonymous.get("/ada").body.contains("secret")))
            #expect(!(try await stranger.get("/explore").body.contains("secret")))

            let collaborator = try await Self.signIn(stack, reader)
            #expect(try await collaborator.get("/ada/secret").status == 200)
            #expect(try await collaborator.get("/ada/secret/settings").status == 403)
            try await collaborator.get("/ada/secret")
            #expect(try await collaborator.post("/ada/secret/settings/delete", ["confirm": "ada/secret"]).status == 403)

            let owner = try await Self.signIn(stack, ada)
            #expect(try await owner.get("/ada/secret/settings").status == 200)
            #expect(try await owner.post("/ada/secret/settings/collaborators", ["username": "outsider", "permission": "write"]).status == 303)
            #expect(try await stranger.get("/ada/secret").status == 200)
            #expect(try await owner.post("/ada/secret/settings", ["name": "renamed", "description": "Now described", "visibility": "public", "default_branch": "main"]).status == 303)
            #expect(try await anonymous.get("/ada/renamed").body.contains("Now described"))
            try await owner.get("/ada/renamed/settings")
            #expect(try await owner.post("/ada/renamed/settings/delete", ["confirm": "wrong"]).status == 422)
            #expect(try await owner.post("/ada/renamed/settings/delete", ["confirm": "ada/renamed"]).status == 303)
            #expect(try await owner.get("/ada/renamed").status == 404)
        }
    }

    @Test("a form without the session's CSRF token is refused")
    func csrfRefused() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let web = try await Self.signIn(stack, ada)
            try await web.get("/new")
            #expect(try await web.post("/new", ["name": "forged"], csrf: "").status == 403)
            let other = WebSession(stack.gatewayURL)
            let foreignToken = try #require(try await other.get("/login").csrf)
            #expect(try await web.post("/new", ["name": "forged"], csrf: foreignToken).status == 403)
            #expect(try await stack.repositories.find(owner: "ada", name: "forged") == nil)
            #expect(try await web.post("/new", ["name": "genuine"]).status == 303)
        }
    }

    @Test("tampered cookies, and cookies from before a password change, are not a session")
    func cookiesRefused() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let web = try await Self.signIn(stack, ada)
            #expect(try await web.get("/settings").status == 200)
            let cookie = try #require(await web.cookies["cairn_session"])

            let tampered = WebSession(stack.gatewayURL)
            await tampered.setCookie("cairn_session", String(cookie.dropLast(2)) + (cookie.hasSuffix("AA") ? "BB" : "AA"))
            #expect(try await tampered.get("/settings").location?.hasPrefix("/login") == true)

            let oldBrowser = WebSession(stack.gatewayURL)
            await oldBrowser.setCookie("cairn_session", cookie)
            #expect(try await oldBrowser.get("/settings").status == 200)
            try await web.get("/settings")
            #expect(try await web.post("/settings/password", ["old_password": "wrong", "new_password": "new-password-1"]).status == 422)
            #expect(try await web.post("/settings/password", ["old_password": ada.password, "new_password": "new-password-1"]).status == 303)
            #expect(try await web.get("/settings").status == 200)                           // this browser got a new cookie
            #expect(try await oldBrowser.get("/settings").location?.hasPrefix("/login") == true)  // the old one is retired
        }
    }

    @Test("sign-in failures are rate limited per account, with one message for every mistake")
    func signInRateLimit() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let web = WebSession(stack.gatewayURL)
            try await web.get("/login")
            let wrongUser = try await web.post("/login", ["login": "nobody", "password": "whatever"])
            let wrongPassword = try await web.post("/login", ["login": "ada", "password": "whatever"])
            #expect(wrongUser.status == 401 && wrongPassword.status == 401)
            #expect(wrongUser.body.contains("Incorrect username or password.") && wrongPassword.body.contains("Incorrect username or password."))
            for _ in 0..<9 { try await web.post("/login", ["login": "ada", "password": "whatever"]) }
            #expect(try await web.post("/login", ["login": "ada", "password": ada.password]).status == 429)
        }
    }

    @Test("tokens are shown once, listed and revocable from the settings page")
    func tokensFromSettings() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let web = try await Self.signIn(stack, ada)
            try await web.get("/settings")
            let created = try await web.post("/settings/tokens", ["name": "laptop", "scope_repo:read": "1"])
            let secret = try #require(created.body.firstMatch(of: /id="new-token">(cairn_[A-Za-z0-9_\-]+)</)).1
            #expect(try await stack.api(.GET, "/api/v3/user", token: String(secret)).0 == 200)
            let listed = try await web.get("/settings")
            #expect(listed.body.contains("laptop") && !listed.body.contains(String(secret)))
            let id = try #require(listed.body.firstMatch(of: /\/settings\/tokens\/(\d+)\/revoke/)).1
            let laptopID = try #require(try await stack.tokens.list(userID: ada.user.id).first { $0.name == "laptop" }?.id)
            #expect(String(laptopID) == String(id) || listed.body.contains("/settings/tokens/\(laptopID)/revoke"))
            #expect(try await web.post("/settings/tokens/\(laptopID)/revoke", [:]).status == 303)
            #expect(try await stack.api(.GET, "/api/v3/user", token: String(secret)).0 == 401)
        }
    }

    @Test("a push shows on the repository's page once the worker has recorded it")
    func pushRetiresCachedPages() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "live")
            let web = WebSession(stack.gatewayURL)
            #expect(try await web.get("/ada/live").body.contains("This repository is empty"))
            let work = try await stack.makeWorkingCopy("live", commits: 2)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/live", credentials: ada.tokenCredentials), "main"], in: work)
            #expect(try await eventually(timeout: .seconds(10)) {
                try await web.get("/ada/live").body.contains("/ada/live/blob/main/file2.txt")
            })
            let repository = try #require(try await stack.repositories.find(owner: "ada", name: "live"))
            #expect(repository.pushedAt != nil)
            #expect(repository.defaultBranch == "main")
        }
    }

    @Test("static assets have content-hashed names and are immutable; error pages are HTML")
    func assetsAndErrors() async throws {
        try await CairnStack.with { stack in
            let web = WebSession(stack.gatewayURL)
            let home = try await web.get("/")
            let path = try #require(home.body.firstMatch(of: /\/static\/app\.[0-9a-f]{10}\.css/)).0
            let css = try await web.get(String(path))
            #expect(css.status == 200)
            #expect(css.headers.first(name: "Cache-Control")?.contains("immutable") == true)
            #expect(try await web.get("/static/app.css").status == 404)
            let missing = try await web.get("/nobody/nothing")
            #expect(missing.status == 404)
            #expect(missing.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true)
            #expect(try await web.get("/new").location == "/login?next=/new")
        }
    }
}
