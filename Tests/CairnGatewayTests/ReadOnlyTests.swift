import AsyncHTTPClient
import CairnGateway
import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Read-only mode, switched by the real `cairnctl` and by the admin page: a real `git push`
/// is refused with the message while a clone works, API writes, form posts and LFS uploads
/// get 503 with it, every page shows it, reads go on, and the admin can switch it off from
/// the site itself.
@Suite(.timeLimit(.minutes(5))) struct ReadOnlyTests {
    @Test func test_readOnlyModeRefusesEveryWriteWithItsMessageAndKeepsReadsWorking() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada", admin: true)
            try await stack.makeRepository(ada, "site")
            let work = try await stack.makeWorkingCopy("site", commits: 1)
            let remote = stack.cloneURL("ada/site", credentials: "ada:\(ada.token)")
            try await stack.git(["push", "--quiet", remote, "main"], in: work)
            let web = try await WebPagesTests.signIn(stack, ada)
            try await web.get("/new")

            let message = "Upgrading the database until 14:00 UTC"
            let turnedOn = try await stack.cairnctl(["readonly", "on", "--message", message])
            #expect(turnedOn.status == 0 && turnedOn.output.contains("read-only mode is on: \(message)"))
            #expect(try await eventually { try await web.get("/").body.contains(message) })

            // git: the push is refused before any pack is sent, and git prints why.
            try "more\n".write(toFile: "\(work)/more.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "more"], in: work)
            let push = try await stack.git(["push", remote, "main"], in: work, expectFailure: true)
            #expect(push.error.contains("remote: \(message)") && push.error.contains("503"), "\(push.error)")
            try await stack.git(["clone", "--quiet", stack.cloneURL("ada/site"), "\(stack.folder)/copy"])
            #expect(FileManager.default.fileExists(atPath: "\(stack.folder)/copy/file1.txt"))

            // The API: writes 503 with the message, reads as usual.
            let (created, body) = try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: #"{"name": "other"}"#)
            #expect(created == 503 && body.contains(message))
            #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/site", as: ada, json: #"{"description": "x"}"#).0 == 503)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/site", as: ada).0 == 200)

            // LFS: uploads refused, downloads answered.
            let batch = #"{"operation": "%@", "objects": [{"oid": "\#(String(repeating: "a", count: 64))", "size": 1}]}"#
            let upload = try await stack.api(.POST, "/ada/site.git/info/lfs/objects/batch", as: ada, json: batch.replacingOccurrences(of: "%@", with: "upload"))
            #expect(upload.0 == 503 && upload.1.contains(message))
            #expect(try await stack.api(.POST, "/ada/site.git/info/lfs/objects/batch", as: ada, json: batch.replacingOccurrences(of: "%@", with: "download")).0 == 200)

            // Forms: an HTML page with the message; pages keep working and show the banner.
            let form = try await web.post("/new", ["name": "other", "description": ""])
            #expect(form.status == 503 && form.body.contains(message))
            let home = try await web.get("/ada/site")
            #expect(home.status == 200 && home.body.contains(#"id="site-notice""#))
            #expect(try await stack.repositories.find(owner: "ada", name: "other") == nil)

            // The admin switches it off from the site, which works while read-only.
            let switches = try await web.get("/admin/switches")
            #expect(switches.status == 200 && switches.body.contains(message))
            #expect(try await web.post("/admin/switches/readonly", ["state": "off"]).status == 303)
            #expect(try await stack.cairnctl(["readonly"]).output.contains("read-only mode is off"))
            #expect(try await eventually { try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: #"{"name": "other"}"#).0 == 201 })
            try await stack.git(["push", "--quiet", remote, "main"], in: work)
            #expect(!(try await web.get("/").body.contains(#"id="site-notice""#)))
        }
    }

    @Test func test_onlySiteAdminsSeeAndFlipTheSwitches() async throws {
        try await CairnStack.with { stack in
            let bob = try await stack.makeUser("bob")
            let web = try await WebPagesTests.signIn(stack, bob)
            #expect(try await web.get("/admin/switches").status == 404)
            try await web.get("/")
            #expect(try await web.post("/admin/switches/readonly", ["state": "on"]).status == 404)
            #expect(try await WebSession(stack.gatewayURL).get("/admin/switches").status == 303)
            #expect(try await stack.cairnctl(["readonly"]).output.contains("read-only mode is off"))
            let admin = try await WebPagesTests.signIn(stack, try await stack.makeUser("root", admin: true))
            try await admin.get("/admin/switches")
            #expect(try await admin.post("/admin/switches/readonly", ["state": "on", "message": ""], csrf: "forged").status == 403)
            #expect(try await admin.post("/admin/switches/readonly", ["state": "on", "message": ""]).status == 303)
            #expect(try await stack.cairnctl(["readonly"]).output.contains(ReadOnlySwitch.defaultMessage))
        }
    }
}

/// The `fragment-cache` flag switched by `cairnctl flags` and the admin page changes how the
/// real gateway renders repository pages.
@Suite(.timeLimit(.minutes(5))) struct FeatureFlagPagesTests {
    @Test func test_turningTheFragmentCacheOffRendersPagesAfresh() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada", admin: true)
            try await stack.makeRepository(ada, "site")
            let work = try await stack.makeWorkingCopy("site", commits: 1)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/site", credentials: "ada:\(ada.token)"), "main"], in: work)
            let repository = try #require(try await stack.repositories.find(owner: "ada", name: "site"))
            // A fragment planted under the page's key shows while the cache is on.
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            try await redis.send("SET", "\(stack.configuration.redisNamespace):fragment:\(pageTemplatesFingerprint):titled:home:\(repository.id):\(repository.cacheVersion)", "ada/site\n<p id=planted>from the cache</p>")
            let web = try await WebPagesTests.signIn(stack, ada)
            #expect(try await web.get("/ada/site").body.contains("from the cache"))

            let off = try await stack.cairnctl(["flags", "set", "fragment-cache", "--off"])
            #expect(off.status == 0 && off.output.contains("fragment-cache") && off.output.contains("off"), "\(off.output)")
            #expect(try await eventually { !(try await web.get("/ada/site").body.contains("from the cache")) })
            #expect(try await web.get("/ada/site").body.contains("file1.txt"))
            #expect(try await stack.cairnctl(["flags", "set", "no-such-flag", "--on"]).output.contains("no flag named no-such-flag"))

            // The admin page shows the state and sets it back.
            let page = try await web.get("/admin/switches")
            #expect(page.body.contains("fragment-cache") && page.body.contains(">off<"))
            #expect(try await web.post("/admin/switches/flags/fragment-cache", ["mode": "default"]).status == 303)
            #expect(try await stack.cairnctl(["flags"]).output.contains("default (on)"))
            #expect(try await web.post("/admin/switches/flags/fragment-cache", ["mode": "off", "percent": "250"]).status == 422)
            #expect(try await eventually { try await web.get("/ada/site").body.contains("from the cache") })
        }
    }
}

/// `cairnctl debug-sql` sets a switch that ends by itself.
@Suite(.timeLimit(.minutes(5))) struct DebugSQLCommandTests {
    @Test func test_debugSQLTurnsOnForABoundedTimeAndOff() async throws {
        try await CairnStack.with { stack in
            let on = try await stack.cairnctl(["debug-sql", "on", "--minutes", "2"])
            #expect(on.status == 0 && on.output.contains("SQL statements are logged for 1"), "\(on.output)")
            #expect(try await stack.cairnctl(["debug-sql", "on", "--minutes", "0"]).output.contains("--minutes must be from 1 to 60"))
            let off = try await stack.cairnctl(["debug-sql", "off"])
            #expect(off.status == 0 && off.output.contains("not being logged"))
        }
    }
}

/// Two admins editing a repository's settings at once: the second save, made from a page
/// shown before the first, is refused with a clear message instead of undoing it.
@Suite(.timeLimit(.minutes(5))) struct StaleSettingsTests {
    @Test func test_aSaveFromAnOutdatedSettingsPageIsRefused() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let repository = try await stack.makeRepository(ada, "kit")
            try await stack.repositories.setCollaborator(repositoryID: repository.id, userID: bob.user.id, permission: .admin)
            let first = try await WebPagesTests.signIn(stack, ada)
            let second = try await WebPagesTests.signIn(stack, bob)
            let adaPage = try await first.get("/ada/kit/settings")
            let bobPage = try await second.get("/ada/kit/settings")
            #expect(adaPage.body.contains(#"name="version" value="1""#) && bobPage.body.contains(#"name="version" value="1""#))

            #expect(try await first.post("/ada/kit/settings", ["name": "kit", "description": "Ada's words", "visibility": "public", "version": "1"]).status == 303)
            let refused = try await second.post("/ada/kit/settings", ["name": "kit", "description": "Bob's words", "visibility": "private", "version": "1"])
            #expect(refused.status == 409 && refused.body.contains("Someone else saved the repository&#39;s settings after you opened this page"), "\(refused.body.prefix(2000))")
            let now = try #require(try await stack.repositories.find(owner: "ada", name: "kit"))
            #expect(now.description == "Ada's words" && !now.isPrivate && now.settingsVersion == 2)
            // From the fresh page, the save goes through.
            #expect(refused.body.contains(#"name="version" value="2""#))
            #expect(try await second.post("/ada/kit/settings", ["name": "kit", "description": "Bob's words", "visibility": "public", "version": "2"]).status == 303)
            #expect(try await stack.repositories.find(owner: "ada", name: "kit")?.description == "Bob's words")
        }
    }
}
