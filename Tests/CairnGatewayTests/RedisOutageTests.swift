import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import CairnSigning
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// With Redis gone, nothing on the pages, the API or git needs it to be right: caches miss,
/// social figures come from PostgreSQL, sign-in limits count in the gateway, and a push's
/// task waits in the repository store's spool until Redis is back, then arrives once.
@Suite(.timeLimit(.minutes(6))) struct RedisOutageTests {
    @Test func test_pagesApiAndGitWorkWithoutRedisAndThePushTaskArrivesWhenItReturns() async throws {
        try await withPrivateRedis { redis in try await CairnStack.with(overrides: ["CAIRN_REDIS_URL": redis.url]) { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "steady")
            let work = try await stack.makeWorkingCopy("steady", commits: 2)
            let url = stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials)
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            #expect(try await stack.api(.PUT, "/api/v3/user/starred/ada/steady", as: ada).0 == 204)
            let pushesBefore = try await pushTasks(redis, stack, repository.id)
            #expect(pushesBefore == 1)

            try await redis.kill()
            step("Redis killed")

            // Pages, for an anonymous visitor and one who signs in now.
            let anonymous = WebSession(stack.gatewayURL)
            for path in ["/", "/explore", "/ada", "/ada/steady", "/ada/steady/commits/main", "/ada/steady/blob/main/file1.txt"] {
                let page = try await anonymous.get(path)
                #expect(page.status == 200, "\(path): \(page.status) \(page.body.prefix(300))")
            }
            let home = try await anonymous.get("/ada/steady")
            #expect(home.body.contains(#"id="stars">★ 1</span>"#), "the star count still shows")
            step("anonymous pages done")
            let web = try await WebPagesTests.signIn(stack, ada)
            for path in ["/", "/ada/steady", "/ada/steady/settings", "/settings"] {
                let page = try await web.get(path)
                #expect(page.status == 200, "\(path) signed in: \(page.status) \(page.body.prefix(300))")
            }
            step("signed-in pages done")
            // Failed sign-ins are still limited, counted in the gateway (ten an account).
            let guesser = WebSession(stack.gatewayURL)
            try await guesser.get("/login")
            for _ in 0..<10 {
                #expect(try await guesser.post("/login", ["login": "ada", "password": "wrong"]).status == 401)
            }
            #expect(try await guesser.post("/login", ["login": "ada", "password": ada.password]).status == 429)
            step("sign-in limits done")
            // The API, reading and writing.
            #expect(try await stack.apiJSON("/api/v3/repos/ada/steady", as: ada)["full_name"] as? String == "ada/steady")
            let (status, stargazers) = try await stack.api(.GET, "/api/v3/repos/ada/steady/stargazers", as: ada)
            #expect(status == 200 && stargazers.contains(#""login":"ada""#), "\(stargazers)")
            #expect(try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: #"{"name": "made-during-outage"}"#).0 == 201)
            step("API done")
            // git, both ways.
            try "during the outage\n".write(toFile: "\(work)/outage.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "pushed while Redis was down"], in: work)
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            try await stack.git(["clone", "--quiet", stack.cloneURL(repository.fullName), "\(stack.folder)/outage-clone"])
            #expect(FileManager.default.fileExists(atPath: "\(stack.folder)/outage-clone/outage.txt"))
            step("git done")
            // Ready, saying what is missing.
            let ready = try await HTTPClient.shared.execute(HTTPClientRequest(url: stack.gatewayURL + "/readyz"), timeout: .seconds(10))
            let report = String(buffer: try await ready.body.collect(upTo: 1 << 16))
            #expect(ready.status == .ok && report.contains("degraded"), "\(report)")
            // The push's task waits in the spool.
            let signature = InternalSignature(signer: try Signer(key: stack.configuration.signingKey))
            let repostore = InternalClient(.repostore, baseURL: stack.configuration.listener(.repostore).url, signature: signature)
            #expect(try await repostore.getJSON(PushSpoolBacklog.self, "/spool")?.waiting == 1)

            step("restarting Redis")
            try await redis.start()
            let relayed = await eventually(timeout: .seconds(20)) {
                (try? await repostore.getJSON(PushSpoolBacklog.self, "/spool")?.waiting) == 0
            }
            #expect(relayed)
            #expect(try await pushTasks(redis, stack, repository.id) == 2)
        } }
    }

    /// Says on standard error how far the test got, so that a run that hits its time limit
    /// shows where it stood.
    func step(_ what: String) {
        FileHandle.standardError.write(Data("RedisOutageTests: \(what) at \(Date())\n".utf8))
    }

    /// The `push` tasks of `repository` waiting in the default queue.
    private func pushTasks(_ redis: PrivateRedis, _ stack: CairnStack, _ repository: Int64) async throws -> Int {
        let client = RedisClient(configuration: RedisConfiguration(url: redis.url, poolSize: 1)!, logger: TestEnvironment.logger)
        defer { Task { await client.shutdown() } }
        let items = try await client.send("LRANGE", "\(stack.configuration.redisNamespace):q:default", "0", "-1").array.compactMap(\.bytes)
        return items.compactMap { try? CairnJSON.decode(TaskEnvelope.self, from: Data($0)) }
            .filter { $0.kind == "push" && $0.args["repository_id"]?.numberValue == Double(repository) }.count
    }
}
