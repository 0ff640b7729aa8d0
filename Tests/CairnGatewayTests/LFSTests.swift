import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import CairnTestSupport
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Git LFS end to end with the stock `git lfs` client: objects go to the blob store through
/// links the gateway signed, come back on another clone, and a private repository's
/// objects are refused to anyone who may not read it.
@Suite(.timeLimit(.minutes(5))) struct LFSTests {
    @Test func test_gitLFSPushesAndPullsFilesOfSeveralSizes() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "media", isPrivate: true)
            let remote = stack.cloneURL("ada/media", credentials: ada.tokenCredentials)
            let work = "\(stack.folder)/media"
            try await stack.git(["init", "--quiet", work])
            try await stack.git(["lfs", "install", "--local"], in: work)
            try await stack.git(["lfs", "track", "*.bin"], in: work)
            var contents: [String: [UInt8]] = [:]
            for (name, size) in [("empty.bin", 0), ("small.bin", 1000), ("medium.bin", 1 << 20), ("large.bin", 12 << 20)] {
                // From /dev/urandom: generating 12 MiB byte by byte in a debug build would hog a core.
                let bytes = [UInt8](FileHandle(forReadingAtPath: "/dev/urandom")!.readData(ofLength: size))
                contents[name] = bytes
                try Data(bytes).write(to: URL(fileURLWithPath: "\(work)/\(name)"))
            }
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "media"], in: work)
            try await stack.git(["push", "--quiet", remote, "main"], in: work)

            // The repository holds pointers; the objects are recorded and in the blob store.
            let recorded = try await RepositoryBlobStore(client: stack.database, logger: TestEnvironment.logger)
                .sizes(repositoryID: repository.id, use: .lfs, names: contents.values.map { SHA256.hash(data: $0).hexString })
            #expect(recorded.count == 3)  // the empty file is stored in git as it is
            #expect(recorded.values.sorted() == [1000, 1 << 20, 12 << 20])

            // A fresh clone gets pointers, and `git lfs pull` the contents, through the links.
            let copy = "\(stack.folder)/copy"
            try await stack.git(["clone", "--quiet", remote, copy])
            try await stack.git(["lfs", "install", "--local"], in: copy)
            try await stack.git(["lfs", "pull"], in: copy)
            for (name, bytes) in contents {
                #expect(try Data(contentsOf: URL(fileURLWithPath: "\(copy)/\(name)")) == Data(bytes), "\(name)")
            }
            // Pushing the same objects again uploads nothing: the batch answers without actions,
            // and `git lfs push --all` makes no upload (each leaves a receipt in the blob store).
            let receipts = "\(stack.configuration.blobRoot)/receipts"
            #expect(try FileManager.default.contentsOfDirectory(atPath: receipts).count == 3)
            let objects = contents.values.filter { !$0.isEmpty }.map { #"{"oid": "\#(SHA256.hash(data: $0).hexString)", "size": \#($0.count)}"# }
            let (status, body) = try await stack.api(
                .POST, "/ada/media.git/info/lfs/objects/batch", as: ada, json: #"{"operation": "upload", "objects": [\#(objects.joined(separator: ","))]}"#)
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            let answered = try #require(answer["objects"] as? [[String: Any]])
            #expect(status == 200 && answered.count == 3)
            #expect(answered.allSatisfy { $0["actions"] == nil && $0["error"] == nil }, "\(body)")
            try "more\n".write(toFile: "\(work)/notes.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "notes"], in: work)
            try await stack.git(["push", "--quiet", remote, "main"], in: work)
            try await stack.git(["lfs", "push", "--all", remote, "main"], in: work)
            #expect(try FileManager.default.contentsOfDirectory(atPath: receipts).count == 3)
        }
    }

    @Test func test_theBatchAPIChecksPermissionsAndInput() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let reader = try await stack.makeUser("reader")
            let outsider = try await stack.makeUser("outsider")
            let secret = try await stack.makeRepository(ada, "secret", isPrivate: true)
            try await stack.makeRepository(ada, "open")
            try await stack.repositories.setCollaborator(repositoryID: secret.id, userID: reader.user.id, permission: .read)
            let oid = String(repeating: "ab", count: 32)
            func batch(_ repository: String, _ operation: String, as user: TestUser?, objects: String? = nil) async throws -> (Int, String) {
                try await stack.api(
                    .POST, "/ada/\(repository).git/info/lfs/objects/batch", as: user,
                    json: #"{"operation": "\#(operation)", "transfers": ["basic"], "objects": \#(objects ?? #"[{"oid": "\#(oid)", "size": 10}]"#)}"#)
            }
            #expect(try await batch("secret", "download", as: outsider).0 == 404)
            #expect(try await batch("secret", "download", as: nil).0 == 401)
            #expect(try await batch("secret", "upload", as: reader).0 == 403)
            #expect(try await batch("open", "upload", as: nil).0 == 401)
            let (status, body) = try await batch("secret", "download", as: reader)
            #expect(status == 200)
            #expect(body.contains("Object does not exist"))
            let (_, upload) = try await batch("secret", "upload", as: ada)
            #expect(upload.contains("/dl/\(oid)?token="))
            #expect(upload.contains("/ada/secret.git/info/lfs/objects/verify"))
            let (_, bad) = try await batch("secret", "upload", as: ada, objects: #"[{"oid": "../../etc/passwd", "size": 1}]"#)
            #expect(bad.contains("oid must be a SHA-256"))
            #expect(try await batch("secret", "delete", as: ada).0 == 422)
            #expect(try await stack.api(.POST, "/ada/secret.git/info/lfs/objects/batch", as: ada, json: "{not json").0 == 400)
            // Verifying an object that was not uploaded to the repository records nothing.
            #expect(try await stack.api(.POST, "/ada/secret.git/info/lfs/objects/verify", as: ada, json: #"{"oid": "\#(oid)", "size": 10}"#).0 == 403)
            #expect(try await stack.api(.POST, "/ada/secret.git/info/lfs/locks/verify", as: ada, json: "{}").0 == 404)
        }
    }

    /// An oid and a size, printed in every pointer file, attach nothing: a repository gains
    /// an object only by an upload made to it, proven by the blob store's receipt, and no
    /// answer says whether the content exists elsewhere.
    @Test func test_knowingAnObjectsOidAndSizeDoesNotAttachIt() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let eve = try await stack.makeUser("eve")
            try await stack.makeRepository(ada, "secret", isPrivate: true)
            try await stack.makeRepository(eve, "mine")
            let content = Array("ada's private design\n".utf8)
            let oid = SHA256.hash(data: content).map { String(format: "%02x", $0) }.joined()
            let object = #"{"oid": "\#(oid)", "size": \#(content.count)}"#
            func upload(_ path: String, as user: TestUser) async throws -> (put: String, verifyHeader: [String: String])? {
                let (_, body) = try await stack.api(.POST, "/\(path).git/info/lfs/objects/batch", as: user, json: #"{"operation": "upload", "objects": [\#(object)]}"#)
                let answer = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                let actions = ((answer?["objects"] as? [[String: Any]])?.first?["actions"]) as? [String: [String: Any]]
                guard let put = actions?["upload"]?["href"] as? String, let header = actions?["verify"]?["header"] as? [String: String] else { return nil }
                return (put, header)
            }
            func put(_ url: String) async throws -> Int {
                var request = HTTPClientRequest(url: url)
                request.method = .PUT
                request.body = .bytes(ByteBuffer(bytes: content))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
                return Int(response.status.code)
            }
            func verify(_ path: String, as user: TestUser, header: [String: String]) async throws -> Int {
                let grant = header.filter { $0.key != "Authorization" }.map { ($0.key, $0.value) }
                return try await stack.api(.POST, "/\(path).git/info/lfs/objects/verify", as: user, json: object, headers: grant).0
            }
            func downloadable(_ path: String, as user: TestUser) async throws -> Bool {
                try await stack.api(.POST, "/\(path).git/info/lfs/objects/batch", as: user, json: #"{"operation": "download", "objects": [\#(object)]}"#).1.contains("/dl/")
            }

            // Ada uploads it to her private repository, as git-lfs does.
            let adas = try #require(try await upload("ada/secret", as: ada))
            #expect(try await put(adas.put) == 201)
            #expect(try await verify("ada/secret", as: ada, header: adas.verifyHeader) == 200)
            #expect(try await downloadable("ada/secret", as: ada))

            // Eve knows the oid and size: none of this attaches it to her repository.
            #expect(try await verify("eve/mine", as: eve, header: [:]) == 403)
            #expect(try await verify("eve/mine", as: eve, header: adas.verifyHeader) == 403)
            let eves = try #require(try await upload("eve/mine", as: eve))
            #expect(try await verify("eve/mine", as: eve, header: eves.verifyHeader) == 403)
            #expect(try await downloadable("eve/mine", as: eve) == false)
            // Eve uploading the content herself does attach it: she has it.
            #expect(try await put(eves.put) == 200)
            #expect(try await verify("eve/mine", as: eve, header: eves.verifyHeader) == 200)
            #expect(try await downloadable("eve/mine", as: eve))
            // A signed link is one person's grant: no shared cache may keep what it returns.
            let links = try await stack.api(.POST, "/ada/secret.git/info/lfs/objects/batch", as: ada, json: #"{"operation": "download", "objects": [\#(object)]}"#).1
            let href = try #require(links.range(of: #"http[^"]*/dl/[^"]*"#, options: .regularExpression).map { String(links[$0]).replacingOccurrences(of: "\\/", with: "/") })
            let fetched = try await HTTPClient.shared.execute(HTTPClientRequest(url: href), timeout: .seconds(30))
            #expect(fetched.status == .ok)
            #expect(fetched.headers.first(name: "Cache-Control")?.hasPrefix("private") == true)
        }
    }
}
