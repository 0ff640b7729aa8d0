import CairnProtocol
import Crypto
import Foundation
import Glibc
import Hummingbird
import NIOCore
import NIOPosix

/// Blobs on the local filesystem, named by their SHA-256: `<root>/sha256/ab/cd/<hash>`.
///
/// A body is streamed into `<root>/tmp/` while it is hashed, checked against the expected
/// hash and size, `fsync`ed, renamed into place (atomic: readers see all of it or nothing)
/// and its directory `fsync`ed. An upload that fails or is cut off leaves only its temporary
/// file, which is removed at once or, after a crash, when the store next starts. Two
/// uploads of the same content both rename a complete copy over the same name, so either
/// wins. Every blocking call runs on `threads`.
struct LocalBlobs: Sendable {
    let root: String
    let threads: NIOThreadPool
    /// The largest body accepted.
    let maxSize: Int
    /// Bytes gathered before each write to disk.
    static let writeChunk = 1 << 20

    /// Makes the folders and clears temporary files a crash left behind.
    func prepare() throws {
        try FileManager.default.createDirectory(atPath: "\(root)/sha256", withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: "\(root)/tmp")
        try FileManager.default.createDirectory(atPath: "\(root)/tmp", withIntermediateDirectories: true)
    }

    /// Where blob `hash` lives.
    func path(_ hash: String) -> String {
        let characters = Array(hash)
        return "\(root)/sha256/\(String(characters[0..<2]))/\(String(characters[2..<4]))/\(hash)"
    }

    /// The blob's size, or nil when there is no such blob.
    func size(_ hash: String) async -> Int? {
        let path = path(hash)
        return try? await threads.runIfActive {
            var status = stat()
            return stat(path, &status) == 0 ? Int(status.st_size) : nil
        }
    }

    /// Bytes read from disk per chunk when serving.
    static let readChunk = 256 << 10

    /// Streams `range` of blob `hash` to `writer`, one chunk read at a time: each is read
    /// only once the previous one was taken by the connection, so memory stays at a chunk
    /// or two however large the blob and however slow the client.
    func read(_ hash: String, range: ClosedRange<Int>, to writer: inout some ResponseBodyWriter) async throws {
        let path = path(hash)
        let file = try await threads.runIfActive { () throws -> Int32 in
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw BlobError.io("cannot open the blob: \(String(cString: strerror(errno)))") }
            return descriptor
        }
        defer { close(file) }
        var offset = range.lowerBound
        while offset <= range.upperBound {
            let length = min(Self.readChunk, range.upperBound - offset + 1)
            let start = offset
            let chunk = try await threads.runIfActive { () throws -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: length)
                _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
                    let count = pread(file, bytes.baseAddress!, length, off_t(start))
                    guard count > 0 else { throw BlobError.io("the blob ended early or could not be read") }
                    return count
                }
                return buffer
            }
            offset += chunk.readableBytes
            try await writer.write(chunk)
        }
    }

    /// Removes blob `hash`; whether it existed.
    func delete(_ hash: String) async throws -> Bool {
        let path = path(hash)
        return try await threads.runIfActive { unlink(path) == 0 }
    }

    /// Streams `body` into the store. `expected` and `expectedSize`, when given, must match
    /// what arrived, or nothing is stored.
    func store<Body: AsyncSequence>(_ body: Body, expected: String?, expectedSize: Int?) async throws -> StoredBlob where Body.Element == ByteBuffer {
        if let expectedSize, expectedSize > maxSize { throw BlobError.tooLarge(limit: maxSize) }
        let temporary = "\(root)/tmp/\(UUID().uuidString)"
        let file = try await threads.runIfActive { () throws -> Int32 in
            let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw BlobError.io("cannot create a temporary file: \(String(cString: strerror(errno)))") }
            return descriptor
        }
        var closed = false
        do {
            var hasher = SHA256()
            var size = 0
            var pending = ByteBufferAllocator().buffer(capacity: Self.writeChunk)
            for try await chunk in body {
                size += chunk.readableBytes
                guard size <= maxSize else { throw BlobError.tooLarge(limit: maxSize) }
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                pending.writeImmutableBuffer(chunk)
                if pending.readableBytes >= Self.writeChunk {
                    try await write(pending, to: file)
                    pending.clear()
                }
            }
            if pending.readableBytes > 0 { try await write(pending, to: file) }
            let hash = hasher.finalize().hexString
            if let expected, expected != hash { throw BlobError.hashMismatch(expected: expected, actual: hash) }
            if let expectedSize, expectedSize != size { throw BlobError.sizeMismatch(expected: expectedSize, actual: size) }
            let final = path(hash)
            // The closure below closes the file whatever happens.
            closed = true
            let existed = try await threads.runIfActive { () throws -> Bool in
                let synced = fsync(file) == 0
                let syncError = BlobError.fromErrno("fsync")
                close(file)
                guard synced else { throw syncError }
                let folder = (final as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let existed = access(final, F_OK) == 0
                guard rename(temporary, final) == 0 else { throw BlobError.fromErrno("rename") }
                let directory = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if directory >= 0 {
                    fsync(directory)
                    close(directory)
                }
                return existed
            }
            return StoredBlob(sha256: hash, size: size, created: !existed)
        } catch {
            let wasClosed = closed
            try? await threads.runIfActive {
                if !wasClosed { close(file) }
                unlink(temporary)
            }
            throw error
        }
    }

    private func write(_ buffer: ByteBuffer, to file: Int32) async throws {
        try await threads.runIfActive {
            try buffer.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(file, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw BlobError.fromErrno("write")
                    }
                    offset += written
                }
            }
        }
    }
}

/// What a store did.
struct StoredBlob: Codable, Equatable {
    let sha256: String
    let size: Int
    /// False when the blob was there already.
    let created: Bool
}

/// Why a blob could not be stored or read; each says what was wrong.
enum BlobError: Error, CustomStringConvertible {
    case tooLarge(limit: Int)
    case hashMismatch(expected: String, actual: String)
    case sizeMismatch(expected: Int, actual: Int)
    case diskFull
    case io(String)

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
        }
    }
}
