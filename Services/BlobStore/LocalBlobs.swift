import CairnProtocol
import Foundation
import Glibc
import Hummingbird
import NIOCore
import NIOPosix

/// Blobs on the local filesystem, named by their SHA-256: `<root>/sha256/ab/cd/<hash>`.
///
/// A body is spooled into `<root>/tmp/` while it is hashed (`BlobSpool`), checked, synced,
/// renamed into place (atomic: readers see all of it or nothing) and its directory synced.
/// Two uploads of the same content both rename a complete copy over the same name, so
/// either wins. Every blocking call runs on `threads`.
struct LocalBlobs: BlobBackend {
    let root: String
    let threads: NIOThreadPool
    let spool: BlobSpool

    init(root: String, threads: NIOThreadPool, maxSize: Int) {
        self.root = root
        self.threads = threads
        spool = BlobSpool(folder: "\(root)/tmp", threads: threads, maxSize: maxSize)
    }

    func prepare() async throws {
        try FileManager.default.createDirectory(atPath: "\(root)/sha256", withIntermediateDirectories: true)
        try spool.prepare()
    }

    /// Where blob `hash` lives.
    func path(_ hash: String) -> String {
        let characters = Array(hash)
        return "\(root)/sha256/\(String(characters[0..<2]))/\(String(characters[2..<4]))/\(hash)"
    }

    func size(_ hash: String) async throws -> Int? {
        let path = path(hash)
        return try await threads.runIfActive {
            (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
        }
    }

    func read(_ hash: String, range: ClosedRange<Int>, to writer: inout some ResponseBodyWriter) async throws {
        for try await chunk in FileChunks(path: path(hash), range: range, threads: threads) {
            try await writer.write(chunk)
        }
    }

    func delete(_ hash: String) async throws -> Bool {
        let path = path(hash)
        return try await threads.runIfActive { unlink(path) == 0 }
    }

    func store<Body: AsyncSequence>(_ body: Body, expected: String?, expectedSize: Int?) async throws -> StoredBlob where Body.Element == ByteBuffer {
        let spooled = try await spool.spool(body, expected: expected, expectedSize: expectedSize)
        let final = path(spooled.sha256)
        do {
            let existed = try await threads.runIfActive { () throws -> Bool in
                let folder = (final as NSString).deletingLastPathComponent
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let existed = access(final, F_OK) == 0
                guard rename(spooled.path, final) == 0 else { throw BlobError.fromErrno("rename") }
                let directory = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if directory >= 0 {
                    fsync(directory)
                    close(directory)
                }
                return existed
            }
            return StoredBlob(sha256: spooled.sha256, size: spooled.size, created: !existed)
        } catch {
            await spool.discard(spooled)
            throw error
        }
    }

    /// Walks the two levels of folders in name order, reading only those at or past `after`.
    func list(after: String?, limit: Int) async throws -> [ListedBlob] {
        let base = "\(root)/sha256"
        return try await threads.runIfActive {
            let cursor = after ?? ""
            var found: [ListedBlob] = []
            func names(_ folder: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() }
            for first in names(base) where first >= String(cursor.prefix(2)) {
                for second in names("\(base)/\(first)") where first + second >= String(cursor.prefix(4)) {
                    for name in names("\(base)/\(first)/\(second)") where name > cursor && name.isSHA256Hex {
                        guard let attributes = try? FileManager.default.attributesOfItem(atPath: "\(base)/\(first)/\(second)/\(name)"),
                              let size = (attributes[.size] as? NSNumber)?.intValue, let modified = attributes[.modificationDate] as? Date
                        else { continue }
                        found.append(ListedBlob(sha256: name, size: size, storedAt: modified))
                        if found.count == limit { return found }
                    }
                }
            }
            return found
        }
    }
}
