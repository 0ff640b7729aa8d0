import CairnProtocol
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Where blob bodies are kept: the local filesystem (`LocalBlobs`) or an S3-compatible
/// object store (`S3Blobs`), chosen by `blobstore.backend`. Both name a blob by the SHA-256
/// of its body, so storing the same body twice is harmless and a blob never changes.
protocol BlobBackend: Sendable {
    /// Makes what the backend needs before serving (folders; clears leftovers of a crash).
    func prepare() async throws
    /// The blob's size, or nil when there is no such blob.
    func size(_ hash: String) async throws -> Int?
    /// Streams `range` of the blob to `writer`, at the writer's pace.
    func read(_ hash: String, range: ClosedRange<Int>, to writer: inout some ResponseBodyWriter) async throws
    /// Stores `body`; `expected` and `expectedSize`, when given, must match what arrived,
    /// or nothing is stored.
    func store<Body: AsyncSequence>(_ body: Body, expected: String?, expectedSize: Int?) async throws -> StoredBlob where Body.Element == ByteBuffer
    /// Removes the blob; whether it existed.
    func delete(_ hash: String) async throws -> Bool
    /// Up to `limit` blobs in hash order, starting after `after`.
    func list(after: String?, limit: Int) async throws -> [ListedBlob]
}

extension BlobBackend {
    /// The SHA-256 of the blob's body as stored now (nil when there is no such blob): what the
    /// scrub compares with the blob's name.
    func digest(_ hash: String) async throws -> String? {
        guard let size = try await size(hash) else { return nil }
        var hasher = HashingWriter()
        if size > 0 { try await read(hash, range: 0...(size - 1), to: &hasher) }
        return hasher.hasher.finalize().hexString
    }
}

/// A response body writer that only hashes what it is given.
private struct HashingWriter: ResponseBodyWriter {
    var hasher = SHA256()

    mutating func write(_ buffer: ByteBuffer) async throws {
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Why a blob could not be stored or read; each says what was wrong.
enum BlobError: Error, CustomStringConvertible {
    case tooLarge(limit: Int)
    case hashMismatch(expected: String, actual: String)
    case sizeMismatch(expected: Int, actual: Int)
    case diskFull
    case io(String)
    /// The object store could not be reached or failed.
    case backend(String)

    static func fromErrno(_ call: String) -> BlobError {
        errno == ENOSPC || errno == EDQUOT ? .diskFull : .io("\(call) failed: \(String(cString: strerror(errno)))")
    }

    var description: String {
        switch self {
        case .tooLarge(let limit): "the blob is larger than the store accepts (\(limit) bytes)"
        case .hashMismatch(let expected, let actual): "the body's SHA-256 is \(actual), not the expected \(expected); nothing was stored"
        case .sizeMismatch(let expected, let actual): "the body is \(actual) bytes, not the expected \(expected); nothing was stored"
        case .diskFull: "the blob store's disk is full"
        case .io(let message): "the blob store could not write: \(message)"
        case .backend(let message): "the object store failed: \(message)"
        }
    }
}
