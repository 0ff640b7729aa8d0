import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Archives of a ref over the real gateway, worker, repository store and blob store: the
/// first request queues one task and answers 202 honestly; once built, the archive is
/// served through a signed link, byte for byte what `git archive` makes of the same ref.
@Suite(.timeLimit(.minutes(5))) struct ArchiveTests {
    @Test func test_aTagsArchivesMatchGitArchiveAndAreBuiltOnce() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "kit")
            let work = try await stack.makeWorkingCopy("kit", commits: 3)
            try FileManager.default.createDirectory(atPath: "\(work)/docs", withIntermediateDirectories: true)
            try "# Kit\n".write(toFile: "\(work)/docs/index.md", atomically: true, encoding: .utf8)
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "docs"], in: work)
            try await stack.git(["tag", "-a", "v1.0", "-m", "first release"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/kit", credentials: "ada:\(ada.token)"), "main", "v1.0"], in: work)

            let web = WebSession(stack.gatewayURL)
            for (path, format, prefix) in [("v1.0.tar.gz", "tar", "kit-v1.0"), ("main.zip", "zip", "kit-main")] {
                let served = try await ArchiveTests.fetch(web, "/ada/kit/archive/\(path)")
                let expected = "\(stack.folder)/expected-\(path)"
                try await stack.git(["archive", "--format=\(format)", "--prefix=\(prefix)/", "-o", expected, path.hasPrefix("v1.0") ? "v1.0" : "main"], in: work)
                let body = format == "tar" ? try ArchiveTests.gunzip(served.body, in: stack.folder) : served.body
                #expect(body == Array(try Data(contentsOf: URL(fileURLWithPath: expected))), "\(path)")
                #expect(served.disposition?.contains("\(prefix).\(format == "tar" ? "tar.gz" : "zip")") == true)
            }
            // Built once: asking again redirects at once, and counts.
            let again = try await web.get("/ada/kit/archive/v1.0.tar.gz")
            #expect(again.status == 302)
            let archives = try await RepositoryBlobStore(client: stack.database, logger: TestEnvironment.logger).list(repositoryID: repository.id, use: .archive)
            #expect(archives.count == 2)
            #expect(archives.first { $0.name.hasSuffix("kit-v1.0.tar.gz") }?.downloadCount == 2)
            // The tags page links both formats.
            let tags = try await web.get("/ada/kit/tags")
            #expect(tags.body.contains("/ada/kit/archive/v1.0.zip") && tags.body.contains("/ada/kit/archive/v1.0.tar.gz"))
        }
    }

    @Test func test_whileBuildingTheAnswerIs202WithRetryAfterAndOneTaskIsQueued() async throws {
        // No worker runs here, so the archive stays pending.
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let eve = try await stack.makeUser("eve")
            try await stack.makeRepository(ada, "kit")
            try await stack.makeRepository(ada, "vault", isPrivate: true)
            let work = try await stack.makeWorkingCopy("kit", commits: 1)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/kit", credentials: "ada:\(ada.token)"), "main"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/vault", credentials: "ada:\(ada.token)"), "main"], in: work)

            let web = WebSession(stack.gatewayURL)
            let first = try await web.get("/ada/kit/archive/main.tar.gz")
            #expect(first.status == 202)
            #expect(first.headers.first(name: "Retry-After") == "3")
            #expect(first.body.contains("Preparing kit-main.tar.gz"))
            #expect(try await web.get("/ada/kit/archive/main.tar.gz").status == 202)
            let queue = ReliableQueue(
                redis: RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger),
                name: QueueName.archives.rawValue, namespace: stack.configuration.redisNamespace)
            #expect(try await eventually { try await queue.readyCount() == 1 })

            for path in ["/ada/kit/archive/nosuchref.zip", "/ada/kit/archive/main.rar", "/ada/kit/archive/.zip", "/ada/kit/archive/..%2F..%2Fetc.zip"] {
                #expect(try await web.get(path).status == 404, "\(path)")
            }
            let outsider = try await WebPagesTests.signIn(stack, eve)
            #expect(try await outsider.get("/ada/vault/archive/main.zip").status == 404)
            #expect(try await web.get("/ada/vault/archive/main.zip").status == 404)
        }
    }

    /// Follows the archive link until it redirects to the blob store, then downloads it.
    static func fetch(_ web: WebSession, _ path: String) async throws -> (body: [UInt8], disposition: String?) {
        var answer = try await web.get(path)
        let deadline = ContinuousClock.now + .seconds(60)
        while answer.status == 202, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(300))
            answer = try await web.get(path)
        }
        guard answer.status == 302, let location = answer.location else { throw TestFailure("\(path) answered \(answer.status): \(answer.body.prefix(300))") }
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: location), timeout: .seconds(60))
        guard response.status == .ok else { throw TestFailure("the archive link answered \(response.status)") }
        return (Array(buffer: try await response.body.collect(upTo: 64 << 20)), response.headers.first(name: "Content-Disposition"))
    }

    /// `bytes` decompressed by gzip.
    static func gunzip(_ bytes: [UInt8], in folder: String) throws -> [UInt8] {
        let compressed = "\(folder)/\(UUID().uuidString).gz"
        try Data(bytes).write(to: URL(fileURLWithPath: compressed))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-d", compressed]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("gzip could not decompress the archive") }
        return Array(try Data(contentsOf: URL(fileURLWithPath: String(compressed.dropLast(3)))))
    }
}
