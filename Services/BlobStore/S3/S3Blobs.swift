import AsyncHTTPClient
import CairnProtocol
import CairnService
import Crypto
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix

/// Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph), one object per blob at
/// `sha256/<hash>` in `bucket`, addressed path-style (`<endpoint>/<bucket>/<key>`), every
/// request signed with SigV4.
///
/// An upload is first spooled to local disk while hashed (`BlobSpool`), so its name is
/// known and checked before anything is sent; it is then PUT with its SHA-256 as the signed
/// payload hash, which S3 checks again, or, above `partSize`, sent as a multipart upload.
/// An object only appears once whole, so a failed upload leaves nothing visible.
struct S3Blobs: BlobBackend {
    /// `scheme://host[:port]`, without a trailing slash.
    let endpoint: String
    let bucket: String
    let signer: SigV4
    let http: HTTPClient
    let spool: BlobSpool
    let threads: NIOThreadPool
    /// Bodies larger than this go up in parts of this size.
    let partSize: Int
    /// Uploads under way, by hash.
    let uploads = SingleFlight()

    /// A client for the object store alone: up to 10 s to connect, and up to a minute of
    /// silence while a body goes up or comes down (parts are large; the store may be far).
    static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(10)
        configuration.timeout.read = .seconds(60)
        configuration.timeout.write = .seconds(60)
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    private var hostHeader: String { String(endpoint.split(separator: "://", maxSplits: 1).last ?? "") }

    func prepare() async throws {
        try spool.prepare()
    }

    /// The bucket answers (HEAD).
    func check() async throws {
        let response = try await send(.HEAD, key: nil, attempts: 1)  // a probe answers at once
        guard response.status == .ok else { throw ReadinessFailure("bucket \(bucket) at \(endpoint) answered \(response.status.code)") }
    }

    /// Creates the bucket if it does not exist (for new installations and tests).
    func createBucketIfMissing() async throws {
        guard try await send(.HEAD, key: nil).status == .notFound else { return }
        var body: ByteBuffer?
        if signer.region != "us-east-1" {
            body = ByteBuffer(string: "<CreateBucketConfiguration><LocationConstraint>\(signer.region)</LocationConstraint></CreateBucketConfiguration>")
        }
        let document = body
        var makeBody: (@Sendable () -> HTTPClientRequest.Body)?
        if let document { makeBody = { HTTPClientRequest.Body.bytes(document) } }
        try await expect(
            send(.PUT, key: nil, body: makeBody, payloadHash: document.map { SHA256Hex.of($0) } ?? SigV4.emptyPayload), "creating bucket \(bucket)")
    }

    func size(_ hash: String) async throws -> Int? {
        let response = try await send(.HEAD, key: key(hash))
        if response.status == .notFound { return nil }
        try await expect(response, "HEAD \(hash)")
        guard let length = response.headers.first(name: "Content-Length").flatMap(Int.init) else { throw BlobError.backend("HEAD \(hash) gave no Content-Length") }
        return length
    }

    func read(_ hash: String, range: ClosedRange<Int>, to writer: inout some ResponseBodyWriter) async throws {
        let response = try await send(.GET, key: key(hash), headers: ["Range": "bytes=\(range.lowerBound)-\(range.upperBound)"])
        try await expect(response, "GET \(hash)", keepBody: true)
        for try await chunk in response.body { try await writer.write(chunk) }
    }

    func delete(_ hash: String) async throws -> Bool {
        guard try await size(hash) != nil else { return false }
        try await expect(send(.DELETE, key: key(hash)), "DELETE \(hash)")
        return true
    }

    func store<Body: AsyncSequence>(_ body: Body, expected: String?, expectedSize: Int?) async throws -> StoredBlob where Body.Element == ByteBuffer {
        let spooled = try await spool.spool(body, expected: expected, expectedSize: expectedSize)
        do {
            let created = try await uploads.run(spooled.sha256) { try await upload(spooled) }
            await spool.discard(spooled)
            return StoredBlob(sha256: spooled.sha256, size: spooled.size, created: created)
        } catch {
            await spool.discard(spooled)
            throw error
        }
    }

    /// Sends a spooled body up unless the object is there already; whether it was sent. A
    /// failed send after which the object is there whole (another blob store sent the same
    /// content at the same time) is a success.
    private func upload(_ spooled: BlobSpool.Spooled) async throws -> Bool {
        if try await size(spooled.sha256) == spooled.size { return false }
        do {
            if spooled.size > partSize {
                try await uploadInParts(spooled)
            } else {
                let threads = threads
                let body: @Sendable () -> HTTPClientRequest.Body = {
                    spooled.size == 0 ? .bytes(ByteBuffer()) : .stream(
                        FileChunks(path: spooled.path, range: 0...max(0, spooled.size - 1), threads: threads, chunkSize: 1 << 20), length: .known(Int64(spooled.size)))
                }
                try await expect(
                    send(.PUT, key: key(spooled.sha256), headers: ["Content-Length": String(spooled.size)], body: body, payloadHash: spooled.sha256),
                    "PUT \(spooled.sha256)")
            }
            return true
        } catch {
            if (try? await size(spooled.sha256)) == spooled.size { return false }
            throw error
        }
    }

    /// CreateMultipartUpload, one UploadPart per `partSize` bytes, CompleteMultipartUpload;
    /// aborted (so no parts linger) if any step fails.
    private func uploadInParts(_ spooled: BlobSpool.Spooled) async throws {
        let key = key(spooled.sha256)
        let created = try await send(.POST, key: key, query: [("uploads", "")])
        let answer = try await text(created, "starting the multipart upload of \(spooled.sha256)")
        guard let uploadID = S3XML.values("UploadId", in: answer).first else { throw BlobError.backend("no UploadId in the answer to CreateMultipartUpload") }
        do {
            var parts: [String] = []
            var offset = 0
            while offset < spooled.size {
                let last = min(offset + partSize, spooled.size) - 1
                let number = parts.count + 1
                let (threads, range) = (threads, offset...last)
                let response = try await send(
                    .PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], headers: ["Content-Length": String(range.count)],
                    body: { .stream(FileChunks(path: spooled.path, range: range, threads: threads, chunkSize: 1 << 20), length: .known(Int64(range.count))) },
                    payloadHash: SigV4.unsignedPayload)
                try await expect(response, "uploading part \(number) of \(spooled.sha256)")
                guard let etag = response.headers.first(name: "ETag") else { throw BlobError.backend("no ETag for part \(number)") }
                parts.append(etag)
                offset = last + 1
            }
            let list = parts.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\(S3XML.escape($0.element))</ETag></Part>" }.joined()
            let body = ByteBuffer(string: "<CompleteMultipartUpload>\(list)</CompleteMultipartUpload>")
            let completed = try await send(.POST, key: key, query: [("uploadId", uploadID)], body: { .bytes(body) }, payloadHash: SHA256Hex.of(body))
            let result = try await text(completed, "completing the multipart upload of \(spooled.sha256)")
            // S3 may answer 200 with an error document when completing fails late.
            guard !result.contains("<Error>") else { throw BlobError.backend("completing the multipart upload failed: \(result.prefix(500))") }
        } catch {
            _ = try? await send(.DELETE, key: key, query: [("uploadId", uploadID)])
            throw error
        }
    }

    func list(after: String?, limit: Int) async throws -> [ListedBlob] {
        var query = [("list-type", "2"), ("prefix", "sha256/"), ("max-keys", String(min(limit, 1000)))]
        if let after { query.append(("start-after", "sha256/\(after)")) }
        let listing = try await text(send(.GET, key: nil, query: query), "listing the bucket")
        return S3XML.elements("Contents", in: listing).compactMap { item in
            guard let key = S3XML.values("Key", in: item).first, key.hasPrefix("sha256/"),
                  let size = S3XML.values("Size", in: item).first.flatMap(Int.init) else { return nil }
            let hash = String(key.dropFirst(7))
            guard hash.isSHA256Hex else { return nil }
            let modified = S3XML.values("LastModified", in: item).first.flatMap(ISO8601.parse) ?? Date()
            return ListedBlob(sha256: hash, size: size, storedAt: modified)
        }
    }

    private func key(_ hash: String) -> String { "sha256/\(hash)" }

    /// Sends a signed request, and again, as S3's own clients do, when the store cannot be
    /// reached or answers 500 or 503, up to `attempts` tries in all, 0.2 s, 0.4 s … apart;
    /// `body` makes the body afresh for each try. An unreachable store is a `BlobError.backend`.
    private func send(
        _ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers: [String: String] = [:],
        body: (@Sendable () -> HTTPClientRequest.Body)? = nil, payloadHash: String = SigV4.emptyPayload, attempts: Int = Self.attempts
    ) async throws -> HTTPClientResponse {
        var attempt = 1
        while true {
            do {
                let response = try await sendOnce(method, key: key, query: query, headers: headers, body: body?(), payloadHash: payloadHash)
                guard attempt < attempts, response.status == .internalServerError || response.status == .serviceUnavailable else { return response }
                _ = try? await response.body.collect(upTo: 64 << 10)
            } catch let error as BlobError {
                guard attempt < attempts else { throw error }
            }
            try await Task.sleep(for: .milliseconds(200 << (attempt - 1)))
            attempt += 1
        }
    }

    /// Tries per request: the first and two more.
    static let attempts = 3

    /// Sends one signed request; an unreachable store is a `BlobError.backend`.
    private func sendOnce(
        _ method: HTTPMethod, key: String?, query: [(String, String)], headers: [String: String],
        body: HTTPClientRequest.Body?, payloadHash: String
    ) async throws -> HTTPClientResponse {
        let path = "/\(SigV4.encode(bucket))" + (key.map { "/" + $0.split(separator: "/").map { SigV4.encode(String($0)) }.joined(separator: "/") } ?? "")
        let queryString = SigV4.canonicalQuery(query)
        var request = HTTPClientRequest(url: endpoint + path + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = method
        var signedHeaders = headers
        signedHeaders["host"] = hostHeader
        let authorization = signer.sign(method: method.rawValue, path: path, query: query, headers: signedHeaders, payloadHash: payloadHash, date: Date())
        for (name, value) in headers.merging(authorization, uniquingKeysWith: { $1 }) { request.headers.replaceOrAdd(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Host", value: hostHeader)
        if let body { request.body = body }
        do {
            return try await http.execute(request, timeout: .hours(2))
        } catch {
            throw BlobError.backend("cannot reach \(endpoint): \(error)")
        }
    }

    /// Throws the store's error message unless the answer is a success. A success's body
    /// is read to its end (so the connection can be reused) unless `keepBody`.
    private func expect(_ response: HTTPClientResponse, _ doing: String, keepBody: Bool = false) async throws {
        guard (200..<300).contains(response.status.code) else {
            let body = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
            throw BlobError.backend("\(doing): \(response.status.code) \(S3XML.values("Message", in: body).first ?? String(body.prefix(200)))")
        }
        if !keepBody { for try await _ in response.body {} }
    }

    /// The body of a successful answer, as text.
    private func text(_ response: HTTPClientResponse, _ doing: String) async throws -> String {
        try await expect(response, doing, keepBody: true)
        return String(buffer: try await response.body.collect(upTo: 16 << 20))
    }
}

/// The few pieces of S3's XML answers the blob store reads. The documents are flat and
/// machine-written, so a tag search is enough (hand-written: Foundation's XML parser needs
/// libxml2 at run time, and no XML package is a dependency of Cairn).
enum S3XML {
    /// The text of every `<tag>…</tag>` in `document`, unescaped.
    static func values(_ tag: String, in document: String) -> [String] {
        elements(tag, in: document).map(unescape)
    }

    /// The raw inner text of every `<tag>…</tag>`.
    static func elements(_ tag: String, in document: String) -> [String] {
        var found: [String] = []
        var rest = document[...]
        while let open = rest.range(of: "<\(tag)>"), let close = rest[open.upperBound...].range(of: "</\(tag)>") {
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// The SHA-256 of a small buffer, hex.
enum SHA256Hex {
    static func of(_ buffer: ByteBuffer) -> String {
        buffer.withUnsafeReadableBytes { SHA256.hash(data: $0).hexString }
    }
}
