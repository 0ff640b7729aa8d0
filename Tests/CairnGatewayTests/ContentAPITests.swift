import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import CairnTestSupport
import Foundation
import NIOHTTP1
import Testing

@Suite(.timeLimit(.minutes(5))) struct ContentAPITests {
    /// A pushed repository with a README, a folder, two commits, a branch and a tag.
    func pushed(_ stack: CairnStack) async throws -> (TestUser, Repository, String) {
        let ada = try await stack.makeUser("ada")
        let repository = try await stack.makeRepository(ada, "browse")
        let work = "\(stack.folder)/browse"
        try await stack.git(["init", "--quiet", work])
        try "# Browse\n\nHello.\n".write(toFile: "\(work)/README.md", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(work)/src", withIntermediateDirectories: true)
        try "print(1)\n".write(toFile: "\(work)/src/main.swift", atomically: true, encoding: .utf8)
        try await stack.git(["add", "."], in: work)
        try await stack.git(["commit", "--quiet", "-m", "first"], in: work)
        try "print(1)\nprint(2)\n".write(toFile: "\(work)/src/main.swift", atomically: true, encoding: .utf8)
        try await stack.git(["commit", "--quiet", "-am", "second\n\nWith a body."], in: work)
        try await stack.git(["branch", "topic"], in: work)
        try await stack.git(["tag", "v1"], in: work)
        try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main", "topic", "v1"], in: work)
        return (ada, repository, work)
    }

    func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    @Test func test_branchesTagsCommitsAndOneCommitWithItsPatch() async throws {
        try await CairnStack.with { stack in
            let (ada, _, work) = try await pushed(stack)
            let head = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)

            let branches = try json(try await stack.api(.GET, "/api/v3/repos/ada/browse/branches", as: ada).1) as? [[String: Any]]
            #expect(branches?.compactMap { $0["name"] as? String } == ["main", "topic"])
            #expect((branches?.first?["commit"] as? [String: Any])?["sha"] as? String == head)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/browse/branches/topic", as: ada).0 == 200)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/browse/branches/nope", as: ada).0 == 404)
            let tags = try json(try await stack.api(.GET, "/api/v3/repos/ada/browse/tags").1) as? [[String: Any]]
            #expect(tags?.first?["name"] as? String == "v1")

            let commits = try json(try await stack.api(.GET, "/api/v3/repos/ada/browse/commits?per_page=1", as: ada).1) as? [[String: Any]]
            #expect(commits?.count == 1)
            #expect(commits?.first?["sha"] as? String == head)
            let pathCommits = try json(try await stack.api(.GET, "/api/v3/repos/ada/browse/commits?path=README.md").1) as? [[String: Any]]
            #expect(pathCommits?.count == 1)

            let (status, body) = try await stack.api(.GET, "/api/v3/repos/ada/browse/commits/\(head)")
            #expect(status == 200)
            let commit = try #require(try json(body) as? [String: Any])
            #expect((commit["commit"] as? [String: Any])?["message"] as? String == "second\n\nWith a body.")
            let files = try #require(commit["files"] as? [[String: Any]])
            #expect(files.first?["filename"] as? String == "src/main.swift")
            #expect(files.first?["status"] as? String == "modified")
            #expect(files.first?["additions"] as? Int == 1)
            #expect((files.first?["patch"] as? String)?.contains("+print(2)") == true)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/browse/commits/doesnotexist").0 == 404)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/browse/commits/main..topic").0 == 422)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/browse/commits/--output=x").0 == 422)
        }
    }

    @Test func test_contentsReadmeAndTrees() async throws {
        try await CairnStack.with { stack in
            let (_, _, _) = try await pushed(stack)
            let root = try json(try await stack.api(.GET, "/api/v3/repos/ada/browse/contents/").1) as? [[String: Any]]
            #expect(Set(root?.compactMap { $0["name"] as? String } ?? []) == ["README.md", "src"])
            #expect(root?.first { $0["name"] as? String == "src" }?["type"] as? String == "dir")

            let file = try #require(try json(try await stack.api(.GET, "/api/v3/repos/ada/browse/contents/src/main.swift?ref=topic").1) as? [String: Any])
            #expect(file["type"] as? String == "file")
            #expect(file["encoding"] as? String == "base64")
            let content = (file["content"] as? String)?.replacingOccurrences(of: "\n", with: "")
            #expect(content.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } == "print(1)\nprint(2)\n")

            let readme = try #require(try json(try await stack.api(.GET, "/api/v3/repos/ada/browse/readme").1) as? [String: Any])
            #expect(readme["path"] as? String == "README.md")

            #expect(try await stack.api(.GET, "/api/v3/repos/ada/browse/contents/missing.txt").0 == 404)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/browse/contents/src/../README.md").0 == 422)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/browse/contents/README.md?ref=-x").0 == 422)

            let tree = try #require(try json(try await stack.api(.GET, "/api/v3/repos/ada/browse/git/trees/main?recursive=1").1) as? [String: Any])
            let paths = (tree["tree"] as? [[String: Any]])?.compactMap { $0["path"] as? String } ?? []
            #expect(Set(paths) == ["README.md", "src", "src/main.swift"])
            #expect(tree["truncated"] as? Bool == false)
        }
    }

    @Test func test_pushEmitsAnEventAndAPushTaskAndCloneAnEvent() async throws {
        try await CairnStack.with { stack in
            let (_, repository, _) = try await pushed(stack)
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            let namespace = stack.configuration.redisNamespace
            // Events are published in the background, a few milliseconds later.
            let published: @Sendable () async throws -> [String] = { try await redis.send("LRANGE", "\(namespace):events", "0", "-1").array.compactMap(\.string) }
            #expect(await eventually { (try? await published().contains { $0.contains("\"repo.push\"") }) == true })
            let push = try #require(try await published().first { $0.contains("\"repo.push\"") })
            let decoded = try CairnJSON.decode(EventEnvelope.self, from: Data(push.utf8))
            #expect(decoded.repoID == repository.id)
            #expect(decoded.data["refs"].map { "\($0)" }?.contains("refs/heads/topic") == true)
            let tasks = try await redis.send("LRANGE", "\(namespace):q:default", "0", "-1").array.compactMap(\.string)
            #expect(tasks.contains { $0.contains("\"push\"") && $0.contains("refs/tags/v1") })

            try await stack.git(["clone", "--quiet", stack.cloneURL(repository.fullName), "\(stack.folder)/cloned"])
            #expect(await eventually { (try? await published().contains { $0.contains("\"repo.clone\"") }) == true })
            let clone = try #require(try await published().first { $0.contains("\"repo.clone\"") })
            #expect(try await published().filter { $0.contains("\"repo.clone\"") }.count == 1)
            // The gateway's visitor id rides along: the stream counts unique cloners by it.
            #expect(try CairnJSON.decode(EventEnvelope.self, from: Data(clone.utf8)).visitor?.count == 16)
            await redis.shutdown()
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct DefaultBranchAndLimitTests {
    @Test func test_defaultBranchIsTheFirstPushedAndCanBeChanged() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "branches")
            let work = try await stack.makeWorkingCopy("branches")
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main:trunk", "main:develop"], in: work)
            let before = try JSONSerialization.jsonObject(with: Data(try await stack.api(.GET, "/api/v3/repos/ada/branches", as: ada).1.utf8)) as? [String: Any]
            #expect(["trunk", "develop"].contains(before?["default_branch"] as? String))

            #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/branches", as: ada, json: #"{"default_branch": "develop"}"#).0 == 200)
            let remote = try await stack.git(["ls-remote", "--symref", stack.cloneURL(repository.fullName), "HEAD"]).output
            #expect(remote.contains("ref: refs/heads/develop"))
            let (status, body) = try await stack.api(.PATCH, "/api/v3/repos/ada/branches", as: ada, json: #"{"default_branch": "nope"}"#)
            #expect(status == 422, "\(body)")
        }
    }

    @Test func test_pushLargerThanTheLimitIsRefusedWithAMessageGitShows() async throws {
        try await CairnStack.with(overrides: ["CAIRN_REPOSTORE_MAX_PUSH_BYTES": "20000"]) { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "limited")
            let work = try await stack.makeWorkingCopy("limited", commits: 1)
            var noise = [UInt8](repeating: 0, count: 200_000)
            for index in noise.indices { noise[index] = UInt8.random(in: 0...255) }
            try Data(noise).write(to: URL(fileURLWithPath: "\(work)/big.bin"))
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "big"], in: work)
            let refused = try await stack.git(["push", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work, expectFailure: true)
            #expect(refused.error.contains("maximum allowed size") || refused.error.contains("too large") || refused.error.contains("unpack"), "\(refused.error)")
            #expect(try await stack.git(["ls-remote", stack.cloneURL(repository.fullName)]).output.isEmpty)
        }
    }
}
