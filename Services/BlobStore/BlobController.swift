import CairnService
import CairnProtocol
import CairnSigning
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The blob store's HTTP API. Internal (signed requests): `PUT /blobs/{sha256}` (the body
/// must hash to it), `POST /blobs` (stored under whatever it hashes to), `GET`/`HEAD
/// /blobs/{sha256}` (with `ETag`, `Content-Length` and one `Range`), `DELETE
/// /blobs/{sha256}`, `GET /blobs?after=…&limit=…` (the listing the garbage collector and the
/// scrub walk), `POST /blobs/{sha256}/verify` (re-hashes the stored body). Public: `GET`/`HEAD`/`PUT /dl/{sha256}?token=…`, allowed by a link the
/// gateway signed for that blob and method (`BlobLink`), and by nothing else.
struct BlobController: Sendable {
    let blobs: any BlobBackend
    let signer: Signer
    let receipts: UploadReceipts

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.put("/blobs/:sha") { request, context in
            try await store(request, expected: hash(context))
        }
        router.post("/blobs") { request, _ in
            try await store(request, expected: nil)
        }
        router.get("/blobs") { request, _ in
            let after = request.uri.queryParameters["after"].map(String.init)
            if let after, !after.isSHA256Hex { throw HTTPError(.badRequest, message: "after must be a SHA-256 (64 lowercase hex digits)") }
            let limit = try QueryNumber.read(request, "limit", in: 1...10_000, default: 1000)
            let listed = try await backendCall { try await blobs.list(after: after, limit: limit) }
            return try Response.json(BlobListing(blobs: listed))
        }
        router.post("/blobs/:sha/verify") { _, context in
            let hash = try hash(context)
            guard let actual = try await backendCall({ try await blobs.digest(hash) }) else { throw HTTPError(.notFound, message: "no such blob") }
            return try Response.json(BlobVerification(sha256: hash, actual: actual, intact: actual == hash))
        }
        router.get("/blobs/:sha") { request, context in try await serve(hash(context), request, context) }
        router.head("/blobs/:sha") { request, context in try await serve(hash(context), request, context, bodyless: true) }
        router.delete("/blobs/:sha") { _, context in
            let hash = try hash(context)
            guard try await backendCall({ try await blobs.delete(hash) }) else { throw HTTPError(.notFound, message: "no such blob") }
            return Response(status: .noContent)
        }
        router.get("/dl/:sha") { request, context in
            let link = try linked(request, context, method: "GET")
            return try await serve(link.blob, request, context, savedAs: link.filename)
        }
        router.head("/dl/:sha") { request, context in
            let link = try linked(request, context, method: "HEAD")
            return try await serve(link.blob, request, context, bodyless: true, savedAs: link.filename)
        }
        router.put("/dl/:sha") { request, context in
            let link = try linked(request, context, method: "PUT")
            let response = try await store(request, expected: link.blob) { stored in
                if let receipt = link.receipt { try receipts.record(receipt, UploadReceipt(sha256: stored.sha256, size: Int64(stored.size))) }
            }
            return response
        }
        router.get("/receipts/:id") { _, context in
            let id = try context.parameters.require("id")
            guard UploadReceipt.isValidID(id) else { throw HTTPError(.badRequest, message: "a receipt id is a lowercase UUID") }
            guard let receipt = receipts.find(id) else { throw HTTPError(.notFound, message: "no such receipt") }
            return try Response.json(receipt)
        }
    }

    private func hash(_ context: BasicRequestContext) throws -> String {
        let text = try context.parameters.require("sha")
        guard text.isSHA256Hex else { throw HTTPError(.badRequest, message: "not a SHA-256 (64 lowercase hex digits): \(text.prefix(80))") }
        return text
    }

    /// The grant of a public link, if its token allows `method` on the blob it names now.
    private func linked(_ request: Request, _ context: BasicRequestContext, method: String) throws -> BlobLink {
        let hash = try hash(context)
        guard let token = request.uri.queryParameters["token"] else { throw HTTPError(.forbidden, message: "a download link needs its token") }
        do {
            return try BlobLink.verify(String(token), blob: hash, method: method, signer: signer)
        } catch {
            throw HTTPError(.forbidden, message: "\(error)")
        }
    }

    private func store(_ request: Request, expected: String?, then: (StoredBlob) throws -> Void = { _ in }) async throws -> Response {
        let size = request.headers[.contentLength].flatMap { Int($0) }
        let stored = try await backendCall { try await blobs.store(request.body, expected: expected, expectedSize: size) }
        try then(stored)
        var response = try Response.json(stored, status: stored.created ? .created : .ok)
        response.headers[.eTag] = "\"\(stored.sha256)\""
        return response
    }


    /// Runs a backend call, turning its `BlobError` into the HTTP error that says what went wrong.
    private func backendCall<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch let error as BlobError {
            switch error {
            case .tooLarge: throw HTTPError(.contentTooLarge, message: error.description)
            case .hashMismatch, .sizeMismatch: throw HTTPError(.unprocessableContent, message: error.description)
            case .diskFull: throw HTTPError(.init(code: 507, reasonPhrase: "Insufficient Storage"), message: error.description)
            case .io, .backend: throw HTTPError(.serviceUnavailable, message: error.description)
            }
        }
    }

    /// Serves a blob; `savedAs`, from a download link, names the file the browser saves.
    private func serve(_ hash: String, _ request: Request, _ context: BasicRequestContext, bodyless: Bool = false, savedAs filename: String? = nil) async throws -> Response {
        guard let size = try await backendCall({ try await blobs.size(hash) }) else { throw HTTPError(.notFound, message: "no such blob") }
        var headers: HTTPFields = [
            .contentType: "application/octet-stream", .eTag: "\"\(hash)\"", .acceptRanges: "bytes",
            // A link is a grant for one person, often to a private repository's content: no
            // shared cache may keep it.
            .cacheControl: "private, max-age=31536000, immutable",
        ]
        if let filename {
            headers[.contentDisposition] = ContentDisposition.attachment(filename)
            if let (_, format) = ArchiveFormat.split(filename) { headers[.contentType] = format.contentType }
        }
        var range: ClosedRange<Int>?
        if let header = request.headers[.range] {
            switch ByteRange.parse(header, size: size) {
            case .whole: break
            case .unsatisfiable:
                headers[.contentRange] = "bytes */\(size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            case .part(let part):
                range = part
                headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound)/\(size)"
            }
        }
        let length = range.map(\.count) ?? size
        headers[.contentLength] = String(length)
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        guard !bodyless, length > 0 else { return Response(status: status, headers: headers) }
        let part = range ?? 0...(size - 1)
        return Response(status: status, headers: headers, body: ResponseBody { [blobs] writer in
            try await blobs.read(hash, range: part, to: &writer)
            try await writer.finish(nil)
        })
    }
}

/// `Content-Disposition: attachment` for a file name (RFC 6266): a plain ASCII fallback for
/// old clients and the exact name percent-encoded as UTF-8.
enum ContentDisposition {
    static func attachment(_ filename: String) -> String {
        let fallback = String(filename.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && scalar.value >= 0x20 && scalar != "\"" && scalar != "\\" && scalar.value != 0x7F ? Character(scalar) : "_"
        })
        let encoded = filename.utf8.map { byte -> String in
            let character = Character(UnicodeScalar(byte))
            return byte < 0x80 && (character.isLetter || character.isNumber || "-._~".contains(character)) ? String(character) : String(format: "%%%02X", byte)
        }.joined()
        return "attachment; filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }
}

/// One `Range: bytes=…` header, as RFC 9110 reads it for a single range; several ranges
/// or another unit get the whole body.
enum ByteRange: Equatable {
    case whole
    case part(ClosedRange<Int>)
    case unsatisfiable

    static func parse(_ header: String, size: Int) -> ByteRange {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        if parts[0].isEmpty {
            guard let suffix = Int(parts[1]), suffix > 0 else { return .unsatisfiable }
            return size == 0 ? .unsatisfiable : .part(max(0, size - suffix)...(size - 1))
        }
        guard let first = Int(parts[0]), first >= 0 else { return .whole }
        guard first < size else { return .unsatisfiable }
        if parts[1].isEmpty { return .part(first...(size - 1)) }
        guard let last = Int(parts[1]), last >= first else { return .whole }
        return .part(first...min(last, size - 1))
    }
}
