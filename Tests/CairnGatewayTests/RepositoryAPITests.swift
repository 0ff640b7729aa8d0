import CairnModel
import CairnProtocol
import CairnRedis
import CairnTestSupport
import Foundation
import NIOHTTP1
import CairnService
import CairnDatabase
import Testing

@Suite(.timeLimit(.minutes(5))) struct RepositoryAPITests {
    @Test func test_userEndpointsFollowGitHubShapes() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let (status, body) = try await stack.api(.GET, "/api/v3/user", as: ada)
            #expect(status == 200)
            let me = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            #expect(me?["login"] as? String == "ada")
            #expect(me?["type"] as? String == "User")
            #expect(me?["site_admin"] as? Bool == false)
            #expect(try await stack.api(.GET, "/api/v3/user").0 == 401)
            #expect(try await stack.api(.GET, "/api/v3/users/ada").0 == 200)
            #expect(try await stack.api(.GET, "/api/v3/users/nobody").0 == 404)
            // Basic authentication with the password works too.
            let basic = "Basic " + Data("ada:password-ada".utf8).base64EncodedString()
            #expect(try await stack.api(.GET, "/api/v3/user", headers: [("Authorization", basic)]).0 == 200)
            let wrong = "Basic " + Data("ada:wrong-password".utf8).base64EncodedString()
            let (_, headers, _) = try await stack.apiWithHeaders(.GET, "/api/v3/user", headers: [("Authorization", wrong)])
            #expect(headers.first(name: "WWW-Authenticate")?.contains("Basic") == true)
        }
    }

    @Test func test_createListPaginateUpdateAndDeleteRepositories() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            for n in 1...3 { try await stack.makeRepository(ada, "project-\(n)") }
            let (status, body) = try await stack.api(.GET, "/api/v3/repos/ada/project-1", as: ada)
            #expect(status == 200)
            let repo = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            #expect(repo["full_name"] as? String == "ada/project-1")
            #expect(repo["private"] as? Bool == false)
            #expect((repo["clone_url"] as? String)?.hasSuffix("/ada/project-1.git") == true)
            #expect((repo["permissions"] as? [String: Bool])?["admin"] == true)

            let (pageStatus, headers, page) = try await stack.apiWithHeaders(.GET, "/api/v3/user/repos?per_page=2", as: ada)
            #expect(pageStatus == 200)
            #expect((try JSONSerialization.jsonObject(with: Data(page.utf8)) as? [Any])?.count == 2)
            #expect(headers.first(name: "Link")?.contains("page=2") == true)
            #expect(headers.first(name: "Link")?.contains("rel=\"next\"") == true)

            #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/project-1", as: ada, json: #"{"name": "renamed", "description": "now with a name"}"#).0 == 200)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/project-1", as: ada).0 == 404)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/renamed", as: ada).1.contains("now with a name"))

            let doomed = try #require(try await stack.repositories.find(owner: "ada", name: "project-2"))
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/project-2", as: ada).0 == 204)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/project-2", as: ada).0 == 404)
            // The files go later: a repo.delete task waits in the maintenance queue.
            let redis = RedisClient(configuration: TestEnvironment.redis, logger: TestEnvironment.logger)
            let queue = ReliableQueue(redis: redis, name: QueueName.maintenance.rawValue, namespace: stack.configuration.redisNamespace)
            let queued = try await redis.send("LRANGE", queue.keys.ready, "0", "-1").array.compactMap(\.string)
            #expect(queued.contains { $0.contains("repo.delete") && $0.contains("\(doomed.id)") })
            await redis.shutdown()
            // The name is free again.
            try await stack.makeRepository(ada, "project-2")
        }
    }

    @Test(arguments: ["../etc", "a/b", "nul\u{0}byte", "ünicode", "api", ".hidden", "-dash", "name.git", "", String(repeating: "x", count: 101), "ＡＢＣ", "a b"])
    func test_badRepositoryNamesAreRefusedWith422(name: String) async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let escaped = String(decoding: try JSONEncoder().encode(["name": name]), as: UTF8.self)
            let (status, body) = try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: escaped)
            #expect(status == 422, "\(name): \(body)")
            #expect(body.contains("name"))
        }
    }

    @Test func test_duplicateNameAndMalformedJSONAreClearErrors() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "twice")
            let (status, body) = try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: #"{"name": "TWICE"}"#)
            #expect(status == 422)
            #expect(body.contains("already taken"))
            let (badStatus, badBody) = try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: #"{"name": "#)
            #expect(badStatus == 400)
            #expect(badBody.contains("JSON"))
            let readOnly = try await stack.tokens.create(userID: ada.user.id, name: "ro", scopes: [.repoRead]).secret
            #expect(try await stack.api(.POST, "/api/v3/user/repos", token: readOnly, json: #"{"name": "nope"}"#).0 == 403)
        }
    }

    /// Pushing and creating need `repo:write`; what only a repository's admin may do needs
    /// the `admin` scope too, so a CI token that pushes cannot delete or expose the repository.
    @Test func test_aRepoWriteTokenCannotDoWhatNeedsAdmin() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "guarded", isPrivate: true)
            try await stack.makeUser("bob")
            let writer = try await stack.tokens.create(userID: ada.user.id, name: "ci", scopes: [.repoRead, .repoWrite]).secret
            let hook = #"{"config": {"url": "https://example.com/hook"}, "events": ["push"]}"#
            let refused: [(HTTPMethod, String, String?)] = [
                (.DELETE, "/api/v3/repos/ada/guarded", nil),
                (.PATCH, "/api/v3/repos/ada/guarded", #"{"private": false}"#),
                (.POST, "/api/v3/repos/ada/guarded/hooks", hook),
                (.GET, "/api/v3/repos/ada/guarded/hooks", nil),
                (.PUT, "/api/v3/repos/ada/guarded/collaborators/bob", #"{"permission": "admin"}"#),
            ]
            for (method, path, json) in refused {
                let (status, body) = try await stack.api(method, path, token: writer, json: json)
                #expect(status == 403, "\(method) \(path) with repo:write answered \(status): \(body)")
            }
            #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/guarded", token: writer, json: #"{"description": "kept"}"#).0 == 403)
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/guarded", token: writer).0 == 200)
            #expect(try await stack.api(.POST, "/api/v3/repos/ada/guarded/hooks", as: ada, json: hook).0 == 201)
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/guarded", as: ada).0 == 204)
        }
    }

    @Test func test_createLeavesNoRowWhenTheRepositoryStoreIsDown() async throws {
        try await CairnStack.with(repostoreUp: false) { stack in
            let ada = try await stack.makeUser("ada")
            let (status, body) = try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: #"{"name": "orphan"}"#)
            #expect(status == 503, "\(body)")
            #expect(body.contains("repository store"))
            #expect(try await stack.repositories.find(owner: "ada", name: "orphan") == nil)
        }
    }
}
