import AsyncHTTPClient
import CairnBlobStore
import CairnProtocol
import CairnService
import CairnSigning
import CairnTestSupport
import Crypto
import Foundation
import Glibc
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

/// The blob store over real HTTP, with each backend (a real filesystem, and a real
/// S3-compatible server): content-addressed round trips, refusals that store nothing, an
/// upload cut off half way, ranges, listing, verification, and the signed links public
/// downloads use.
@Suite(.timeLimit(.minutes(5))) struct BlobStoreTests {
    @Test(arguments: TestBlobBackend.allCases)
    func test_roundTripByHashAndByContent_withETagLengthAndHEAD(backend: TestBlobBackend) async throws {
        try await withBlobStore(backend) { store in
            let body = Array("hello, blobs\n".utf8)
            let hash = SHA256.hash(data: body).hexString
            #expect(try await store.put(hash, body).status == 201)
            #expect(try await store.put(hash, body).status == 200)
            let response = try await store.client.send(.GET, "/blobs/\(hash)")
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "ETag") == "\"\(hash)\"")
            #expect(response.headers.first(name: "Content-Length") == String(body.count))
            #expect(Array(buffer: try await response.body.collect(upTo: 1 << 20)) == body)
            let head = try await store.client.send(.HEAD, "/blobs/\(hash)")
            #expect(head.status == .ok && head.headers.first(name: "Content-Length") == String(body.count))
            if backend == .local {
                #expect(FileManager.default.fileExists(atPath: "\(store.root)/sha256/\(hash.prefix(2))/\(hash.dropFirst(2).prefix(2))/\(hash)"))
            }
            #expect(try await store.listed() == [hash])

            let other = Array("by content\n".utf8)
            let posted = try await store.client.send(.POST, "/blobs", body: .bytes(ByteBuffer(bytes: other)))
            #expect(posted.status == .created)
            let answer = try JSONSerialization.jsonObject(with: Data(Array(buffer: try await posted.body.collect(upTo: 4096)))) as? [String: Any]
            #expect(answer?["sha256"] as? String == SHA256.hash(data: other).hexString)
            #expect(answer?["size"] as? Int == other.count)

            #expect(try await store.client.send(.DELETE, "/blobs/\(hash)").status == .noContent)
            #expect(try await store.client.send(.GET, "/blobs/\(hash)").status == .notFound)
            #expect(try await store.client.send(.DELETE, "/blobs/\(hash)").status == .notFound)
            #expect(try await store.client.send(.GET, "/blobs/not-a-hash").status == .badRequest)
            #expect(try await store.client.send(.GET, "/blobs/\(String(repeating: "A", count: 64))").status == .badRequest)
        }
    }

    @Test(arguments: TestBlobBackend.allCases)
    func test_aWrongExpectedHashOrSizeOrAnOversizedBodyIsRefusedAndNothingIsStored(backend: TestBlobBackend) async throws {
        try await withBlobStore(backend, maxBytes: 1000) { store in
            let body = Array(repeating: UInt8(ascii: "x"), count: 100)
            let wrong = String(repeating: "0", count: 64)
            let refused = try await store.put(wrong, body)
            #expect(refused.status == 422)
            #expect(refused.text.contains("not the expected \(wrong)"))
            #expect(try await store.put(SHA256.hash(data: body).hexString, Array(repeating: UInt8(ascii: "y"), count: 2000)).status == 413)
            #expect(try await store.listed().isEmpty)
            #expect(store.temporaryFiles().isEmpty)
        }
    }

    @Test(arguments: TestBlobBackend.allCases)
    func test_anUploadCutOffHalfWayLeavesNothing(backend: TestBlobBackend) async throws {
        try await withBlobStore(backend) { store in
            let hash = String(repeating: "a", count: 64)
            let path = "/blobs/\(hash)"
            let token = try store.signature.token(for: .init(method: "PUT", path: path, daemon: .blobstore, bodyHash: InternalSignature.unhashedBody))
            // Announce a megabyte, send a tenth of it, and hang up.
            let socket = try RawSocket(port: store.port)
            socket.send("PUT \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\(InternalHeader.signature): \(token)\r\n\r\n")
            socket.send(String(repeating: "z", count: 100_000))
            #expect(await eventually { store.temporaryFiles().count == 1 })
            socket.close()
            #expect(await eventually { store.temporaryFiles().isEmpty })
            #expect(try await store.listed().isEmpty)
        }
    }

    @Test(arguments: TestBlobBackend.allCases)
    func test_singleRangesAnd416(backend: TestBlobBackend) async throws {
        try await withBlobStore(backend) { store in
            let body = Array((0..<50).map { UInt8($0) })
            let hash = SHA256.hash(data: body).hexString
            #expect(try await store.put(hash, body).status == 201)
            for (range, expected, contentRange) in [
                ("bytes=0-9", Array(body[0...9]), "bytes 0-9/50"), ("bytes=45-", Array(body[45...]), "bytes 45-49/50"),
                ("bytes=-5", Array(body[45...]), "bytes 45-49/50"), ("bytes=40-100", Array(body[40...]), "bytes 40-49/50"),
            ] {
                let response = try await store.client.send(.GET, "/blobs/\(hash)", headers: ["Range": range])
                #expect(response.status == .partialContent, "\(range)")
                #expect(response.headers.first(name: "Content-Range") == contentRange)
                #expect(Array(buffer: try await response.body.collect(upTo: 4096)) == expected, "\(range)")
            }
            let unsatisfiable = try await store.client.send(.GET, "/blobs/\(hash)", headers: ["Range": "bytes=50-60"])
            #expect(unsatisfiable.status == .rangeNotSatisfiable)
            #expect(unsatisfiable.headers.first(name: "Content-Range") == "bytes */50")
            let several = try await store.client.send(.GET, "/blobs/\(hash)", headers: ["Range": "bytes=0-1,5-6"])
            #expect(several.status == .ok)
        }
    }

    @Test func test_signedLinksAllowOneMethodOnOneBlobUntilTheyExpire() async throws {
        try await withBlobStore { store in
            let body = Array("public download\n".utf8)
            let hash = SHA256.hash(data: body).hexString
            let other = String(repeating: "b", count: 64)
            #expect(try await store.put(hash, body).status == 201)
            func get(_ path: String, method: HTTPMethod = .GET) async throws -> Int {
                var request = HTTPClientRequest(url: store.base + path)
                request.method = method
                return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code)
            }
            let link = try BlobLink(blob: hash, method: "GET", expires: Date().addingTimeInterval(60)).path(signer: store.signer)
            #expect(try await get(link) == 200)
            #expect(try await get(link, method: .HEAD) == 200)
            // Without the internal signature, the internal API is closed to the public.
            #expect(try await get("/blobs/\(hash)") == 401)
            #expect(try await get("/dl/\(hash)") == 403)
            #expect(try await get(link.replacingOccurrences(of: "/dl/\(hash)", with: "/dl/\(other)")) == 403)
            #expect(try await get(link, method: .PUT) == 403)
            var tampered = link
            tampered.removeLast()
            tampered += link.hasSuffix("A") ? "B" : "A"
            #expect(try await get(tampered) == 403)
            let expired = try BlobLink(blob: hash, method: "GET", expires: Date().addingTimeInterval(-1)).path(signer: store.signer)
            #expect(try await get(expired) == 403)
            let otherKey = try Signer(key: "another-signing-key-0123456789-abcdefghij")
            #expect(try await get(try BlobLink(blob: hash, method: "GET", expires: Date().addingTimeInterval(60)).path(signer: otherKey)) == 403)
        }
    }

    @Test(arguments: TestBlobBackend.allCases)
    func test_aLargeBodyStreamsInAndOutWhole(backend: TestBlobBackend) async throws {
        // 64 MiB (in 16 MiB parts on S3), streamed up and hashed again on the way down; the
        // 1 GiB round trips are `BigBlobTests`, which run alone.
        try await withBlobStore(backend) { store in try await store.roundTrip(mebibytes: 64) }
    }

    @Test(arguments: TestBlobBackend.allCases)
    func test_theListingPagesInHashOrderAndVerifyFindsADamagedBlob(backend: TestBlobBackend) async throws {
        try await withBlobStore(backend) { store in
            var hashes: [String] = []
            for n in 0..<5 {
                let body = Array("blob number \(n)\n".utf8)
                hashes.append(SHA256.hash(data: body).hexString)
                #expect(try await store.put(hashes.last!, body).status == 201)
            }
            hashes.sort()
            #expect(try await store.listed() == hashes)
            let page = try await store.client.getJSON(BlobListing.self, "/blobs?limit=2&after=\(hashes[1])")
            #expect(page?.blobs.map(\.sha256) == Array(hashes[2...3]))
            #expect(page?.blobs.allSatisfy { abs($0.storedAt.timeIntervalSinceNow) < 300 } == true)
            #expect(try await store.client.send(.GET, "/blobs?after=zz").status == .badRequest)

            let verified = try await store.client.send(.POST, "/blobs/\(hashes[0])/verify")
            #expect(String(buffer: try await verified.body.collect(upTo: 4096)).contains(#""intact":true"#))
            #expect(try await store.client.send(.POST, "/blobs/\(String(repeating: "c", count: 64))/verify").status == .notFound)
            if backend == .local {
                // Flip the contents of one stored file behind the store's back.
                let path = "\(store.root)/sha256/\(hashes[3].prefix(2))/\(hashes[3].dropFirst(2).prefix(2))/\(hashes[3])"
                try Data("tampered\n".utf8).write(to: URL(fileURLWithPath: path))
                let damaged = try await store.client.send(.POST, "/blobs/\(hashes[3])/verify")
                let text = String(buffer: try await damaged.body.collect(upTo: 4096))
                #expect(text.contains(#""intact":false"#) && text.contains(SHA256.hash(data: Data("tampered\n".utf8)).hexString))
            }
        }
    }

    @Test(arguments: TestBlobBackend.allCases)
    func test_concurrentUploadsOfTheSameContentAllSucceedAndLeaveOneWholeBlob(backend: TestBlobBackend) async throws {
        try await withBlobStore(backend) { store in
            let body = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let hash = SHA256.hash(data: body).hexString
            let answers = try await withThrowingTaskGroup(of: (status: Int, text: String).self) { group in
                for _ in 0..<8 { group.addTask { try await store.put(hash, body) } }
                return try await group.reduce(into: [(status: Int, text: String)]()) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status == 200 || $0.status == 201 }, "\(answers)")
            #expect(try await store.listed() == [hash])
            let response = try await store.client.send(.GET, "/blobs/\(hash)")
            #expect(Array(buffer: try await response.body.collect(upTo: 2 << 20)) == body)
            #expect(store.temporaryFiles().isEmpty)
        }
    }

    @Test func test_anUnreachableObjectStoreIsA503ThatSaysSo() async throws {
        let settings = TestEnvironment.s3Settings().merging(["CAIRN_BLOBSTORE_S3_ENDPOINT": "http://127.0.0.1:1"]) { $1 }
        try await withBlobStore(overrides: settings) { store in
            let response = try await store.client.send(.GET, "/blobs/\(String(repeating: "d", count: 64))")
            #expect(response.status == .serviceUnavailable)
            #expect(String(buffer: try await response.body.collect(upTo: 4096)).contains("the object store failed: cannot reach"))
            let stored = try await store.put(SHA256.hash(data: Array("x".utf8)).hexString, Array("x".utf8))
            #expect(stored.status == 503 && stored.text.contains("the object store failed"))
            #expect(store.temporaryFiles().isEmpty)
        }
    }
}

/// 1 GiB through each backend and back, hashed both ways. Run alone by `deploy/local/test`
/// (with `CAIRN_TEST_BIG_BLOBS=1`) after the main suite, so that hashing a gibibyte does
/// not starve the tests that run in parallel.
@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["CAIRN_TEST_BIG_BLOBS"] == "1", "runs with CAIRN_TEST_BIG_BLOBS=1, as deploy/local/test without arguments does"),
    .timeLimit(.minutes(15)))
struct BigBlobTests {
    @Test(arguments: TestBlobBackend.allCases)
    func test_aGibibyteRoundTrip(backend: TestBlobBackend) async throws {
        try await withBlobStore(backend, overrides: backend == .s3 ? TestEnvironment.s3Settings(partBytes: 256 << 20) : [:]) { store in
            try await store.roundTrip(mebibytes: 1024)
        }
    }
}

/// The backends the blob store tests run against.
enum TestBlobBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case local, s3
    var testDescription: String { rawValue }
}

/// `count` copies of `chunk`, as an upload body.
struct Chunks: AsyncSequence, Sendable {
    let chunk: ByteBuffer
    let count: Int
    struct AsyncIterator: AsyncIteratorProtocol {
        let chunk: ByteBuffer
        var left: Int
        mutating func next() async -> ByteBuffer? {
            guard left > 0 else { return nil }
            left -= 1
            return chunk
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunk: chunk, left: count) }
}

struct BlobStoreHarness: Sendable {
    let client: InternalClient
    let base: String
    let port: Int
    let root: String
    let signer: Signer
    let signature: InternalSignature

    func put(_ hash: String, _ body: [UInt8]) async throws -> (status: Int, text: String) {
        let response = try await client.send(.PUT, "/blobs/\(hash)", headers: ["Content-Length": String(body.count)], body: .bytes(ByteBuffer(bytes: body)))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 16)))
    }

    /// Every stored blob's hash, from the store's own listing.
    func listed() async throws -> [String] {
        try await client.getJSON(BlobListing.self, "/blobs")?.blobs.map(\.sha256) ?? []
    }

    /// Streams `mebibytes` MiB of a repeating pattern up by hash and hashes it again on the way down.
    func roundTrip(mebibytes count: Int) async throws {
        let chunk = ByteBuffer(bytes: (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var hasher = SHA256()
        for _ in 0..<count { chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) } }
        let hash = hasher.finalize().hexString
        let body = InternalBody.stream(Chunks(chunk: chunk, count: count), length: .known(Int64(count << 20)))
        let stored = try await client.send(.PUT, "/blobs/\(hash)", headers: ["Content-Length": String(count << 20)], body: body)
        let answer = String(buffer: try await stored.body.collect(upTo: 4096))
        #expect(stored.status == .created, "\(answer)")
        let response = try await client.send(.GET, "/blobs/\(hash)")
        #expect(response.headers.first(name: "Content-Length") == String(count << 20))
        var check = SHA256()
        var received = 0
        for try await part in response.body {
            received += part.readableBytes
            part.withUnsafeReadableBytes { check.update(bufferPointer: $0) }
        }
        #expect(received == count << 20)
        #expect(check.finalize().hexString == hash)
        #expect(temporaryFiles().isEmpty)
    }

    func temporaryFiles() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/tmp")) ?? []
    }
}

/// Runs `body` against a blob store on `backend` (S3: a new bucket on the test's moto server).
func withBlobStore(
    _ backend: TestBlobBackend = .local, maxBytes: Int? = nil, overrides extra: [String: String] = [:],
    _ body: @escaping @Sendable (BlobStoreHarness) async throws -> Void
) async throws {
    var overrides = backend == .s3 ? TestEnvironment.s3Settings() : [:]
    overrides.merge(extra) { $1 }
    if let maxBytes { overrides["CAIRN_BLOBSTORE_MAX_BYTES"] = String(maxBytes) }
    let configuration = try TestEnvironment.configuration(overrides)
    let environment = try DaemonEnvironment(daemon: .blobstore, configuration: configuration, logger: TestEnvironment.logger)
    defer { try? FileManager.default.removeItem(atPath: configuration.blobRoot) }
    try await buildBlobStore(environment).test(.live) { client in
        let base = "http://127.0.0.1:\(client.port!)"
        try await body(BlobStoreHarness(
            client: InternalClient(.blobstore, baseURL: base, signature: environment.internalSignature), base: base, port: client.port!,
            root: configuration.blobRoot, signer: environment.signer, signature: environment.internalSignature))
    }
}
