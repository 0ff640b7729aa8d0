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
/// served through a signed link, byte for byte what `git archive` makes of the same commit.
/// One archive per commit and format, however the ref is spelled; a few builds per
/// repository at a time.
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

            let commit = try await stack.git(["rev-parse", "main"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let web = WebSession(stack.gatewayURL)
            for (path, format, savedAs) in [("v1.0.tar.gz", "tar", "kit-v1.0.tar.gz"), ("main.zip", "zip", "kit-main.zip")] {
                let served = try await ArchiveTests.fetch(web, "/ada/kit/archive/\(path)")
                let expected = "\(stack.folder)/expected-\(path)"
                try await stack.git(["archive", "--format=\(format)", "--prefix=kit-\(commit.prefix(12))/", "-o", expected, commit], in: work)
                let body = format == "tar" ? try ArchiveTests.gunzip(served.body, in: stack.folder) : served.body
                #expect(body == Array(try Data(contentsOf: URL(fileURLWithPath: expected))), "\(path)")
                #expect(served.disposition?.contains(savedAs) == true, "\(served.disposition ?? "no Content-Disposition")")
            }
            // Built once per commit and format: the tag, the branch, the full and the short
            // hash of the same commit all redirect at once to the same archive, and count.
            for spelling in ["v1.0", "main", commit, String(commit.prefix(7))] {
                let again = try await web.get("/ada/kit/archive/\(spelling).tar.gz")
                #expect(again.status == 302, "\(spelling)")
            }
            let archives = try await RepositoryBlobStore(client: stack.database, logger: TestEnvironment.logger).list(repositoryID: repository.id, use: .archive)
            #expect(Set(archives.map(\.name)) == ["\(commit).tar.gz", "\(commit).zip"])
            #expect(archives.first { $0.name.hasSuffix(".tar.gz") }?.downloadCount == 5)
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
            let work = try await stack.makeWorkingCopy("kit", commits: 5)
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

            // Four builds may be pending per repository; a fifth commit waits its turn, and a
            // pending one still answers 202.
            let commits = try await stack.git(["rev-list", "main"], in: work).output.split(separator: "\n").map(String.init)
            for commit in commits[1...3] { #expect(try await web.get("/ada/kit/archive/\(commit).zip").status == 202, "\(commit)") }
            let busy = try await web.get("/ada/kit/archive/\(commits[4]).zip")
            #expect(busy.status == 429 && busy.headers.first(name: "Retry-After") == "30")
            #expect(busy.body.contains("being prepared already"))
            #expect(try await web.get("/ada/kit/archive/\(commits[2]).zip").status == 202)
            #expect(try await eventually { try await queue.readyCount() == 4 })

            for path in ["/ada/kit/archive/nosuchref.zip", "/ada/kit/archive/main.rar", "/ada/kit/archive/.zip", "/ada/kit/archive/..%2F..%2Fetc.zip"] {
                #expect(try await web.get(path).status == 404, "\(path)")
            }
            let outsider = try await WebPagesTests.signIn(stack, eve)
            #expect(try await outsider.get("/ada/vault/archive/main.zip").status == 404)
            #expect(try await web.get("/ada/vault/archive/main.zip").status == 404)
        }
    }

    @Test func test_theAPIsTarballAndZipballRedirectTokensToPrivateArchivesEqualToGitArchive() async throws {
        try await CairnStack.with(worker: true) { stack in
            let ada = try await stack.makeUser("ada")
            let eve = try await stack.makeUser("eve")
            try await stack.makeRepository(ada, "vault", isPrivate: true)
            let work = try await stack.makeWorkingCopy("vault", commits: 2)
            try await stack.git(["tag", "v1"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/vault", credentials: "ada:\(ada.token)"), "main", "v1"], in: work)
            let commit = try await stack.git(["rev-parse", "main"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)

            /// The API's answer with a token, asked again while it is 202 (with `Retry-After`).
            func ask(_ path: String, token: String?) async throws -> (status: Int, location: String?) {
                let deadline = ContinuousClock.now + .seconds(60)
                while true {
                    var request = HTTPClientRequest(url: stack.gatewayURL + path)
                    if let token { request.headers.add(name: "Authorization", value: "token \(token)") }
                    let response = try await WebSession.client.execute(request, timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    let status = Int(response.status.code)
                    if status == 202 {
                        #expect(response.headers.first(name: "Retry-After") == "3")
                        if ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(300)); continue }
                    }
                    return (status, response.headers.first(name: "Location"))
                }
            }
            for (path, format) in [("tarball/main", "tar"), ("zipball/v1", "zip"), ("tarball", "tar")] {
                let answer = try await ask("/api/v3/repos/ada/vault/\(path)", token: ada.token)
                #expect(answer.status == 302, "\(path)")
                let location = try #require(answer.location)
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: location), timeout: .seconds(60))
                #expect(response.status == .ok)
                let served = Array(buffer: try await response.body.collect(upTo: 64 << 20))
                let expected = "\(stack.folder)/expected-\(path.replacingOccurrences(of: "/", with: "-"))"
                try await stack.git(["archive", "--format=\(format)", "--prefix=vault-\(commit.prefix(12))/", "-o", expected, commit], in: work)
                let body = format == "tar" ? try ArchiveTests.gunzip(served, in: stack.folder) : served
                #expect(body == Array(try Data(contentsOf: URL(fileURLWithPath: expected))), "\(path)")
            }
            // Outsiders and anonymous callers see nothing; a ref that names nothing is 404.
            for token in [eve.token, nil] { #expect(try await ask("/api/v3/repos/ada/vault/tarball/main", token: token).status == 404) }
            for ref in ["nosuch", "..%2F..%2Fetc", "a..b"] { #expect(try await ask("/api/v3/repos/ada/vault/zipball/\(ref)", token: ada.token).status == 404, "\(ref)") }
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
