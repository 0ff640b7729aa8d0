import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import Foundation
import NIOCore
import NIOHTTP1

/// `repo.archive`: builds the archive of one commit, streaming `git archive` from the
/// repository store straight into the blob store (no copy is held here), and records it in
/// the reference table, where the gateway finds it. Idempotent: an archive already recorded
/// is not built again. Once built, or refused for good, its build ends in `ArchiveBuilds`.
struct ArchiveTask: TaskHandler {
    let repostore: InternalClient
    let blobstore: InternalClient
    let blobs: RepositoryBlobStore
    let builds: ArchiveBuilds
    let kind = "repo.archive"
    let timeLimit: Duration = .seconds(1800)

    /// The arguments of an archive task.
    struct Arguments {
        let repositoryID: Int64
        let commit: String
        let format: ArchiveFormat
        let prefix: String

        /// Its name in the reference table.
        var name: String { ArchiveFormat.blobName(commit: commit, format: format) }

        init(_ task: TaskEnvelope) throws {
            repositoryID = try task.repositoryID()
            guard let commit = task.args["commit"]?.stringValue, commit.count == 40,
                  let format = task.args["format"]?.stringValue.flatMap(ArchiveFormat.init(rawValue:)),
                  let prefix = task.args["prefix"]?.stringValue, ArchiveFormat.prefixProblem(prefix) == nil
            else { throw MalformedTask(description: "archive task \(task.id) needs a 40-digit commit, a format (tar.gz or zip) and a prefix") }
            self.commit = commit
            self.format = format
            self.prefix = prefix
        }
    }

    func handle(_ task: TaskEnvelope) async throws {
        let archive = try Arguments(task)
        do {
            try await build(archive)
        } catch let error as MalformedTask {
            try? await builds.finish(repository: archive.repositoryID, name: archive.name)
            throw error
        }
        try? await builds.finish(repository: archive.repositoryID, name: archive.name)
    }

    private func build(_ archive: Arguments) async throws {
        if try await blobs.find(repositoryID: archive.repositoryID, use: .archive, name: archive.name) != nil { return }
        let query = InternalClient.query(["commit": archive.commit, "format": archive.format.rawValue, "prefix": archive.prefix])
        let source = try await repostore.send(.GET, "/repos/\(archive.repositoryID)/archive?\(query)", timeout: .minutes(30))
        guard source.status == .ok else {
            let message = String(buffer: try await source.body.collect(upTo: 64 << 10))
            if source.status == .notFound || source.status == .badRequest {
                throw MalformedTask(description: "the repository store cannot archive \(archive.name): \(message)")
            }
            throw InternalCallError.refused(url: repostore.baseURL, status: Int(source.status.code), message: message)
        }
        let stored = try await blobstore.send(.POST, "/blobs", body: .stream(source.body, length: .unknown), timeout: .minutes(30))
        let answer = try await stored.body.collect(upTo: 64 << 10)
        guard stored.status == .created || stored.status == .ok else {
            throw InternalCallError.refused(url: blobstore.baseURL, status: Int(stored.status.code), message: String(buffer: answer))
        }
        let blob = try CairnJSON.decode(StoredBlob.self, from: Data(answer.readableBytesView))
        try await blobs.record(repositoryID: archive.repositoryID, use: .archive, name: archive.name, sha256: blob.sha256, size: Int64(blob.size))
    }
}
