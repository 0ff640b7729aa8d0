import AsyncHTTPClient
import CairnProtocol
import CairnService
import CairnSigning
import CairnTestSupport
import Crypto
import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The blob store when its storage fails under it: a full disk answers 507 and keeps
/// nothing, an object store failing in the middle of a multipart upload (after three tries)
/// answers 503 and leaves no parts behind, and a blob store killed mid-upload removes its temporary file at
/// its next start.
@Suite(.serialized, .timeLimit(.minutes(5))) struct BlobStoreFailureTests {
    @Test(.enabled(if: Tmpfs.canMount, "needs root and mount(8) for a 1 MiB tmpfs"))
    func test_aFullDiskAnswers507AndKeepsNothing() async throws {
        try await Tmpfs.with(bytes: 1 << 20) { root in
            try await withBlobStore(overrides: ["CAIRN_BLOBSTORE_ROOT": root]) { store in
                let big = [UInt8](repeating: UInt8(ascii: "b"), count: 2 << 20)
                let answer = try await store.put(SHA256.hash(data: big).hexString, big)
                #expect(answer.status == 507 && answer.text.lowercased().contains("disk"), "\(answer)")
                #expect(store.temporaryFiles().isEmpty)
                #expect(try await store.listed().isEmpty)
                // The space is free again: a small blob fits.
                let small = Array("fits\n".utf8)
                #expect(try await store.put(SHA256.hash(data: small).hexString, small).status == 201)
            }
        }
    }

    @Test func test_anObjectStoreFailingMidUploadAnswers503AndLeavesNoParts() async throws {
        try await FailingS3Proxy.with(failingPart: 2) { proxy in
            var settings = TestEnvironment.s3Settings(partBytes: 5 << 20)
            settings["CAIRN_BLOBSTORE_S3_ENDPOINT"] = proxy.url
            let bucket = settings["CAIRN_BLOBSTORE_S3_BUCKET"]!
            try await withBlobStore(overrides: settings) { store in
                let body = (0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
                let hash = SHA256.hash(data: body).hexString
                let answer = try await store.put(hash, body)
                #expect(answer.status == 503, "\(answer)")
                // Part 2 was tried three times (S3's clients retry a 500), then the upload given up.
                let parts = await proxy.partsSeen
                #expect(parts == [1, 2, 2, 2], "\(parts)")
                #expect(await proxy.aborted, "the multipart upload was aborted")
                #expect(store.temporaryFiles().isEmpty)
                // Straight at the object store: no object, no upload left open.
                let moto = TestEnvironment.required("S3_URL")
                #expect(try await Self.status("\(moto)/\(bucket)/\(hash)", method: .HEAD) == 404)
                let uploads = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(moto)/\(bucket)?uploads"), timeout: .seconds(10))
                #expect(!String(buffer: try await uploads.body.collect(upTo: 1 << 20)).contains("<UploadId>"))
                // The same body goes up whole once the store answers again.
                await proxy.stopFailing()
                #expect(try await store.put(hash, body).status == 201)
            }
        }
    }

    @Test func test_aBlobStoreKilledMidUploadRemovesItsTemporaryFileAtItsNextStart() async throws {
        let stack = try LocalStack(portBase: 18270)
        var blobstore = try stack.start(.blobstore)
        defer { if blobstore.isRunning { kill(blobstore.processIdentifier, SIGKILL) } }
        #expect(await eventually(timeout: .seconds(30)) { await stack.get(.blobstore, "/readyz") == 200 }, "\(stack.log(.blobstore))")
        let signature = InternalSignature(signer: try Signer(key: stack.json["signing"]!["key"]!))
        let path = "/blobs/\(String(repeating: "c", count: 64))"
        let token = try signature.token(for: .init(method: "PUT", path: path, daemon: .blobstore, bodyHash: InternalSignature.unhashedBody))
        let socket = try RawSocket(port: stack.port(.blobstore))
        socket.send("PUT \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\(InternalHeader.signature): \(token)\r\n\r\n")
        socket.send(String(repeating: "z", count: 100_000))
        let spool = "\(stack.folder)/blobs/tmp"
        @Sendable func leftovers() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? [] }
        #expect(await eventually(timeout: .seconds(10)) { leftovers().count == 1 })
        kill(blobstore.processIdentifier, SIGKILL)
        await exited(blobstore)
        socket.close()
        #expect(leftovers().count == 1, "a crash leaves the temporary file")

        blobstore = try stack.start(.blobstore)
        #expect(await eventually(timeout: .seconds(30)) { await stack.get(.blobstore, "/readyz") == 200 }, "\(stack.log(.blobstore))")
        #expect(leftovers().isEmpty)
    }

    static func status(_ url: String, method: HTTPMethod) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = method
        return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code)
    }
}

/// A tmpfs of a given size, mounted for one test (root only).
enum Tmpfs {
    static let canMount: Bool = {
        let probe = NSTemporaryDirectory() + "cairn-tmpfs-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]) else { return false }
        return run("/bin/umount", [probe])
    }()

    static func with(bytes: Int, _ body: (String) async throws -> Void) async throws {
        let folder = NSTemporaryDirectory() + TestEnvironment.uniqueName("tmpfs")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", folder]) else { throw TestFailure("cannot mount a tmpfs on \(folder)") }
        do {
            try await body(folder + "/blobs")
        } catch {
            _ = run("/bin/umount", [folder])
            throw error
        }
        _ = run("/bin/umount", [folder])
        try? FileManager.default.removeItem(atPath: folder)
    }

    private static func run(_ program: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

/// Stands between the blob store and the test's S3 server (moto), passing every request
/// on, except that UploadPart number `failingPart` answers 500 until told otherwise: an
/// object store failing in the middle of an upload. It notes the parts it saw and whether
/// the upload was aborted.
actor FailingS3Proxy {
    private(set) var partsSeen: [Int] = []
    private(set) var aborted = false
    private var failingPart: Int?
    nonisolated let url: String

    private init(url: String, failingPart: Int) {
        self.url = url
        self.failingPart = failingPart
    }

    func stopFailing() { failingPart = nil }

    /// Whether to refuse this request, noting what it was.
    private func refuses(method: HTTPRequest.Method, query: [String: String]) -> Bool {
        if method == .delete, query["uploadId"] != nil { aborted = true }
        guard method == .put, let part = query["partNumber"].flatMap({ Int($0) }) else { return false }
        if failingPart != nil { partsSeen.append(part) }
        return part == failingPart
    }

    static func with(failingPart: Int, _ body: @escaping @Sendable (FailingS3Proxy) async throws -> Void) async throws {
        let upstream = TestEnvironment.required("S3_URL")
        let router = Router()
        let holder = Holder()
        router.on("**", method: .get) { request, _ in try await forward(request, to: upstream, holder) }
        for method in [HTTPRequest.Method.put, .post, .delete, .head] {
            router.on("**", method: method) { request, _ in try await forward(request, to: upstream, holder) }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let proxy = FailingS3Proxy(url: "http://127.0.0.1:\(client.port!)", failingPart: failingPart)
            holder.proxy.withLock { $0 = proxy }
            try await body(proxy)
        }
    }

    /// The proxy, once it knows its port.
    final class Holder: Sendable {
        let proxy = Mutex<FailingS3Proxy?>(nil)
    }

    private static func forward(_ request: Request, to upstream: String, _ holder: Holder) async throws -> Response {
        let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { $1 })
        if let proxy = holder.proxy.withLock({ $0 }), await proxy.refuses(method: request.method, query: query) {
            _ = try await request.body.collect(upTo: 64 << 20)
            return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "<Error><Code>InternalError</Code><Message>injected</Message></Error>")))
        }
        var forwarded = HTTPClientRequest(url: upstream + request.uri.description)
        forwarded.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers { forwarded.headers.add(name: field.name.rawName, value: field.value) }
        forwarded.body = .bytes(try await request.body.collect(upTo: 64 << 20))
        let answer = try await HTTPClient.shared.execute(forwarded, timeout: .seconds(60))
        var headers = HTTPFields()
        for (name, value) in answer.headers { if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) } }
        return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init(byteBuffer: try await answer.body.collect(upTo: 64 << 20)))
    }
}
