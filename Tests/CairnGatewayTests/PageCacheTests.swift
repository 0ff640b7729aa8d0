import AsyncHTTPClient
import CairnGateway
import CairnModel
import CairnRedis
import CairnService
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// What anonymous visitors see of a repository's code is cached whole; everyone sees
/// what is current once anything the page shows changes.
@Suite(.timeLimit(.minutes(5))) struct PageCacheTests {
    @Test func test_anonymousCodePagesAreCachedWholeAndFollowChanges() async throws {
        // The worker records pushes, which bumps the cache version.
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let repository = try await stack.makeRepository(ada, "site")
            let work = try await stack.makeWorkingCopy("site", commits: 1)
            let remote = stack.cloneURL("ada/site", credentials: "ada:\(ada.password)")
            try await stack.git(["push", "--quiet", remote, "main"], in: work)
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            let anonymous = WebSession(stack.gatewayURL)
            #expect(try await eventually { try await anonymous.get("/ada/site").body.contains("file1.txt") })
            let first = try await anonymous.get("/ada/site")
            let pages = try await redis.send("KEYS", "\(stack.configuration.redisNamespace):fragment:\(pageTemplatesFingerprint):page:*").array.compactMap(\.string)
            #expect(pages.contains { $0.contains(":home:\(repository.id):") }, "\(pages)")
            // Served from the cache: the same page, byte for byte, even with Redis's copy
            // gone (the gateway keeps one in memory; the key names what the page shows).
            for key in pages where key.contains(":home:\(repository.id):") { try await redis.send("DEL", key) }
            #expect(try await anonymous.get("/ada/site").body == first.body)
            let kept = try await redis.send("KEYS", "\(stack.configuration.redisNamespace):fragment:\(pageTemplatesFingerprint):page:*").array.compactMap(\.string)
            #expect(!kept.contains { $0.contains(":home:\(repository.id):") }, "served from memory, not rendered and stored again: \(kept)")
            #expect(first.body.contains(#"<span class="badge" id="stars">★ 0</span>"#))

            // A star shows at once.
            let bobWeb = try await WebPagesTests.signIn(stack, bob)
            try await bobWeb.get("/ada/site")
            #expect(try await bobWeb.post("/ada/site/star", [:]).status == 303)
            #expect(try await anonymous.get("/ada/site").body.contains(#"<span class="badge" id="stars">★ 1</span>"#))
            // Signed-in visitors get their own page, with their forms.
            #expect(try await bobWeb.get("/ada/site").body.contains("Unstar"))

            // A push shows at once.
            try "new\n".write(toFile: "\(work)/added.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "added.txt"], in: work)
            try await stack.git(["commit", "--quiet", "-m", "Add a file"], in: work)
            try await stack.git(["push", "--quiet", remote, "main"], in: work)
            #expect(try await eventually { try await anonymous.get("/ada/site").body.contains("added.txt") })
            #expect(try await eventually { try await anonymous.get("/ada/site/blob/main/added.txt").body.contains("new") })

            // The site notice is never left out of a cached page.
            #expect(try await stack.cairnctl(["readonly", "on", "--message", "Moving disks"]).status == 0)
            #expect(try await eventually { try await anonymous.get("/ada/site").body.contains("Moving disks") })
            #expect(try await stack.cairnctl(["readonly", "off"]).status == 0)
            #expect(try await eventually { !(try await anonymous.get("/ada/site").body.contains("Moving disks")) })
        }
    }
}

/// History, commit, branch and tag pages come from the fragment cache, anonymous or signed
/// in, and still show a push at once: the history, branches and tags by the repository's
/// cache version, a commit by its full id (its content never changes); those showing commit
/// statuses by the status version too.
@Suite(.timeLimit(.minutes(5))) struct HistoryCacheTests {
    @Test func test_historyAndCommitPagesAreCachedAndFollowPushes() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            let work = try await stack.makeWorkingCopy("site", commits: 2)
            _ = try await stack.makeRepository(ada, "site")
            let remote = stack.cloneURL("ada/site", credentials: "ada:\(ada.password)")
            try await stack.git(["push", "--quiet", remote, "main"], in: work)
            let head = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let anonymous = WebSession(stack.gatewayURL)
            let signedIn = try await WebPagesTests.signIn(stack, ada)
            // Once the worker recorded the push: its time, then its default branch, each bumping the
            // cache version, which is final once both are there; no page viewed yet.
            #expect(try await eventually {
                let found = try await stack.repositories.find(owner: "ada", name: "site")
                return found?.pushedAt != nil && found?.defaultBranch != nil
            })
            let repository = try #require(try await stack.repositories.find(owner: "ada", name: "site"))
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            let prefix = "\(stack.configuration.redisNamespace):fragment:\(pageTemplatesFingerprint):titled:"

            // Each page's content is read from its fragment: one planted there shows, for
            // anonymous and signed-in visitors alike, with the title it carries.
            let planted = [
                ("/ada/site/commits", "commits:\(repository.id):\(repository.cacheVersion):s\(repository.statusVersion):1:"),
                ("/ada/site/commits/main", "commits:\(repository.id):\(repository.cacheVersion):s\(repository.statusVersion):1:main"),
                ("/ada/site/commit/\(head)", "commit:\(repository.id):\(head):3:s\(repository.statusVersion)"),
                ("/ada/site/branches", "branches:\(repository.id):\(repository.cacheVersion):s\(repository.statusVersion)"),
                ("/ada/site/tags", "tags:\(repository.id):\(repository.cacheVersion)"),
            ]
            for (path, key) in planted {
                try await redis.send("SET", prefix + key, "Planted title\n<p id=planted>\(key)</p>")
                for session in [signedIn, WebSession(stack.gatewayURL)] {
                    let page = try await session.get(path)
                    let now = try await stack.repositories.find(owner: "ada", name: "site")
                    #expect(page.status == 200 && page.body.contains("<p id=planted>\(key)</p>") && page.body.contains("<title>Planted title"),
                            "\(path): versions then \(repository.cacheVersion)/\(repository.statusVersion), now \(now?.cacheVersion ?? 0)/\(now?.statusVersion ?? 0): \(page.body.prefix(300))")
                }
            }

            // A push shows at once on the history, branches and tags; the commit page, keyed
            // by its id, keeps its fragment.
            try "new\n".write(toFile: "\(work)/added.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "added.txt"], in: work)
            try await stack.git(["commit", "--quiet", "-m", "Add a file"], in: work)
            try await stack.git(["tag", "v1"], in: work)
            try await stack.git(["push", "--quiet", remote, "main", "v1"], in: work)
            #expect(try await eventually { try await anonymous.get("/ada/site/commits/main").body.contains("Add a file") })
            #expect(try await signedIn.get("/ada/site/commits").body.contains("Add a file"))
            #expect(try await anonymous.get("/ada/site/tags").body.contains("v1"))
            #expect(!(try await anonymous.get("/ada/site/branches").body.contains("id=planted")))
            #expect(try await anonymous.get("/ada/site/commit/\(head)").body.contains("id=planted"))
            // A commit named by a short id is kept only until the next push.
            let short = String(head.prefix(8))
            let shortPage = try await signedIn.get("/ada/site/commit/\(short)")
            #expect(shortPage.status == 200 && shortPage.body.contains("commit 2") && !shortPage.body.contains("id=planted"))
        }
    }
}

/// Raw files up to a megabyte are kept by their blob id: the second view comes from the
/// cache byte for byte (binary included), and a push that changes the file shows at once.
@Suite(.timeLimit(.minutes(5))) struct RawCacheTests {
    @Test func test_rawFilesAreKeptByBlobAndFollowPushes() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            _ = try await stack.makeRepository(ada, "site", isPrivate: true)
            let work = try await stack.makeWorkingCopy("site", commits: 1)
            let binary = Data((0..<4096).map { UInt8($0 % 256) })
            try binary.write(to: URL(fileURLWithPath: "\(work)/data.bin"))
            try await stack.git(["add", "data.bin"], in: work)
            try await stack.git(["commit", "--quiet", "-m", "binary"], in: work)
            let remote = stack.cloneURL("ada/site", credentials: "ada:\(ada.password)")
            try await stack.git(["push", "--quiet", remote, "main"], in: work)
            #expect(try await eventually { try await stack.repositories.find(owner: "ada", name: "site")?.pushedAt != nil })
            let web = try await WebPagesTests.signIn(stack, ada)
            @Sendable func raw(_ path: String) async throws -> (Int, Data) {
                var request = HTTPClientRequest(url: stack.gatewayURL + path)
                request.headers.add(name: "Cookie", value: await web.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
                let response = try await WebSession.client.execute(request, timeout: .seconds(30))
                return (Int(response.status.code), Data(try await response.body.collect(upTo: 1 << 22).readableBytesView))
            }
            // The cache is read: bytes planted under the blob's key are what shows.
            let blob = try await stack.git(["rev-parse", "HEAD:data.bin"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let repository = try #require(try await stack.repositories.find(owner: "ada", name: "site"))
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            let key = "\(stack.configuration.redisNamespace):fragment:\(pageTemplatesFingerprint):blob:\(repository.id):\(blob)"
            try await redis.send("SET", key, "planted")
            #expect(try await raw("/ada/site/raw/main/data.bin").1 == Data("planted".utf8))
            try await redis.send("DEL", key)
            // Read from the repository store once, then kept: in Redis, and in the gateway's
            // memory, which serves it again with Redis's copy gone.
            let text = try await stack.git(["rev-parse", "HEAD:file1.txt"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let textKey = "\(stack.configuration.redisNamespace):fragment:\(pageTemplatesFingerprint):blob:\(repository.id):\(text)"
            let original = try await raw("/ada/site/raw/main/file1.txt")
            #expect(original.0 == 200 && original.1.count > 0)
            #expect(try await redis.send("EXISTS", textKey).int == 1)
            try await redis.send("DEL", textKey)
            #expect(try await raw("/ada/site/raw/main/file1.txt") == original)
            #expect(try await redis.send("EXISTS", textKey).int == 0, "served from memory, not read and stored again")
            // Outsiders still get 404: the cache is read only after the permission check.
            #expect(try await WebSession(stack.gatewayURL).get("/ada/site/raw/main/data.bin").status == 404)

            // A push that changes the file shows its new bytes at once.
            try Data("changed".utf8).write(to: URL(fileURLWithPath: "\(work)/data.bin"))
            try await stack.git(["commit", "--quiet", "-am", "change"], in: work)
            try await stack.git(["push", "--quiet", remote, "main"], in: work)
            #expect(try await eventually { try await raw("/ada/site/raw/main/data.bin").1 == Data("changed".utf8) })
        }
    }
}

/// `cairnctl cache-bump --user` retires the cached pages of all of one user's repositories.
@Suite(.timeLimit(.minutes(5))) struct CacheBumpTests {
    @Test func test_aMassBumpRetiresEveryCachedPageOfOneUser() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            var planted: [String] = []
            for (owner, name) in [(ada, "one"), (ada, "two"), (bob, "three")] {
                let repository = try await stack.makeRepository(owner, name)
                try await redis.send("SET", "\(stack.configuration.redisNamespace):fragment:\(pageTemplatesFingerprint):titled:home:\(repository.id):\(repository.cacheVersion)", "\(repository.fullName)\n<p>stale \(name)</p>")
                planted.append("/\(repository.fullName)")
            }
            let web = WebSession(stack.gatewayURL)
            for path in planted { #expect(try await web.get(path).body.contains("<p>stale "), "\(path)") }
            let bumped = try await stack.cairnctl(["cache-bump", "--user", "ada"])
            #expect(bumped.status == 0 && bumped.output.contains("retired the cached pages of 2 repositories"), "\(bumped.output)")
            for path in ["/ada/one", "/ada/two"] {
                let page = try await web.get(path)
                #expect(page.status == 200 && !page.body.contains("<p>stale "), "\(path)")
            }
            #expect(try await web.get("/bob/three").body.contains("<p>stale three</p>"))
            #expect(try await stack.cairnctl(["cache-bump"]).output.contains("say --user NAME or --all"))
            #expect(try await stack.cairnctl(["cache-bump", "--user", "nobody"]).output.contains("no user named nobody"))
        }
    }
}

/// A user's profile is cached for anonymous visitors by the user's cache version, which
/// every change to how their repositories show in a list bumps.
@Suite(.timeLimit(.minutes(5))) struct UserCacheVersionTests {
    @Test func test_theProfileCacheFollowsTheUsersRepositories() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            defer { Task { await redis.shutdown() } }
            var version = try #require(try await stack.users.find(id: ada.user.id)).cacheVersion
            /// Whether `change` bumped ada's cache version.
            func bumps(_ change: () async throws -> Void) async throws -> Bool {
                let before = version
                try await change()
                version = try #require(try await stack.users.find(id: ada.user.id)).cacheVersion
                return version > before
            }
            let anonymous = WebSession(stack.gatewayURL)
            // What another release's templates rendered, under their fingerprint, is never
            // served; what these templates did is.
            try await redis.send("SET", "\(stack.configuration.redisNamespace):fragment:0ther:profile:\(ada.user.id):\(version)", "<p>older release</p>")
            try await redis.send("SET", "\(stack.configuration.redisNamespace):fragment:\(pageTemplatesFingerprint):profile:\(ada.user.id):\(version)", "<p>planted list</p>")
            let profile = try await anonymous.get("/ada").body
            #expect(profile.contains("planted list") && !profile.contains("older release"))
            // Signed-in visitors may see more than the public list: never from the cache.
            let signedIn = try await WebPagesTests.signIn(stack, ada)
            #expect(!(try await signedIn.get("/ada").body.contains("planted list")))

            var repository: Repository?
            #expect(try await bumps { repository = try await stack.makeRepository(ada, "kit") })
            let id = try #require(repository).id
            #expect(try await anonymous.get("/ada").body.contains("ada/kit"))
            #expect(try await bumps { try await stack.repositories.update(id, name: nil, description: "Tools for looms", isPrivate: nil, defaultBranch: nil) })
            #expect(try await anonymous.get("/ada").body.contains("Tools for looms"))
            #expect(try await bumps { try await stack.repositories.recordPush(id, at: Date()) })
            #expect(try await bumps { try await stack.repositories.update(id, name: nil, description: nil, isPrivate: true, defaultBranch: nil) })
            let hidden = try await anonymous.get("/ada").body
            #expect(!hidden.contains("ada/kit") && hidden.contains("No repositories to show."))
            #expect(try await signedIn.get("/ada").body.contains("ada/kit"))
            #expect(try await bumps { _ = try await stack.cairnctl(["cache-bump", "--user", "ada"]) })
            // Figures that no list shows leave the cache alone.
            #expect(!(try await bumps { try await stack.repositories.recordFigures(id, sizeBytes: 10, commitCount: 1, languages: [:]) }))
        }
    }
}
