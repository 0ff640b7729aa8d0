import CairnProtocol
import Crypto
import Foundation
import Glibc
import NIOCore
import NIOPosix

/// Streams an upload into a temporary file under `<folder>` while hashing it, so that a
/// blob's name (its SHA-256) and size are known, and checked, before it is put in place.
/// An upload that fails, is refused or is cut off leaves no file behind. Every blocking
/// call runs on `threads`.
struct BlobSpool: Sendable {
    let folder: String
    let threads: NIOThreadPool
    /// The largest body accepted.
    let maxSize: Int
    /// Bytes gathered before each write to disk.
    static let writeChunk = 1 << 20

    /// Creates the folder empty: temporary files a crash left behind are removed.
    func prepare() throws {
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    /// A body spooled to disk, synced; the caller moves or removes `path`.
    struct Spooled: Sendable {
        let path: String
        let sha256: String
        let size: Int
    }

    /// Writes `body` to a new temporary file and syncs it. Throws, leaving nothing, when the
    /// body is larger than `maxSize` or does not match `expected`/`expectedSize`.
    func spool<Body: AsyncSequence>(_ body: Body, expected: String?, expectedSize: Int?) async throws -> Spooled where Body.Element == ByteBuffer {
        if let expectedSize, expectedSize > maxSize { throw BlobError.tooLarge(limit: maxSize) }
        let temporary = "\(folder)/\(UUID().uuidString)"
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
            // The closure below closes the file whatever happens.
            closed = true
            try await threads.runIfActive {
                let synced = fsync(file) == 0
                let syncError = BlobError.fromErrno("fsync")
                close(file)
                guard synced else { throw syncError }
            }
            return Spooled(path: temporary, sha256: hash, size: size)
        } catch {
            let wasClosed = closed
            try? await threads.runIfActive {
                if !wasClosed { close(file) }
                unlink(temporary)
            }
            throw error
        }
    }

    /// Removes a spooled file that was not moved into place.
    func discard(_ spooled: Spooled) async {
        try? await threads.runIfActive { _ = unlink(spooled.path) }
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

/// A byte range of a file as a sequence of chunks, each read (on `threads`) only when the
/// consumer asks for it: memory stays at one chunk however large the file.
struct FileChunks: AsyncSequence, Sendable {
    let path: String
    let range: ClosedRange<Int>
    let threads: NIOThreadPool
    /// Bytes read per chunk.
    var chunkSize = 256 << 10

    /// Opens the file, failing if it cannot be read.
    func open() async throws -> OpenFile {
        let path = path
        let descriptor = try await threads.runIfActive { () throws -> Int32 in
            let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw BlobError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
            return descriptor
        }
        return OpenFile(descriptor: descriptor)
    }

    /// A file descriptor that closes itself when the last iterator using it is gone.
    final class OpenFile: Sendable {
        let descriptor: Int32
        init(descriptor: Int32) { self.descriptor = descriptor }
        deinit { close(descriptor) }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let chunks: FileChunks
        var file: OpenFile?
        var offset: Int

        mutating func next() async throws -> ByteBuffer? {
            guard offset <= chunks.range.upperBound else { return nil }
            if file == nil { file = try await chunks.open() }
            let descriptor = file!.descriptor
            let length = Swift.min(chunks.chunkSize, chunks.range.upperBound - offset + 1)
            let start = offset
            let chunk = try await chunks.threads.runIfActive { () throws -> ByteBuffer in
                var buffer = ByteBufferAllocator().buffer(capacity: length)
                _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
                    let count = pread(descriptor, bytes.baseAddress!, length, off_t(start))
                    guard count > 0 else { throw BlobError.io("the file ended early or could not be read") }
                    return count
                }
                return buffer
            }
            offset += chunk.readableBytes
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: self, file: nil, offset: range.lowerBound) }
}
