import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
import Foundation

/// A repository at a branch, tag or commit as `git archive` writes it, for the archive page
/// and the API's tarball and zipball. The ref is resolved to its commit first, and archives
/// are kept per commit and format (however the ref was spelled), their files under
/// `<repository>-<commit, 12 digits>/`, saved as `<repository>-<ref>.<format>`. The first
/// request for one claims its build (`ArchiveBuilds`: once, however many ask, and at most a
/// few per repository at a time, else 429) and waits up to `wait` for it.
struct Archives: Sendable {
    let content: RepositoryContent
    let downloads: BlobDownloads
    let outbox: Outbox
    let builds: ArchiveBuilds
    var wait: Duration = .seconds(3)

    /// One archive asked for.
    struct Wanted {
        let commit: String
        let format: ArchiveFormat
        /// The file name it is saved as.
        let savedAs: String
        /// Its name among the repository's blobs.
        let blobName: String
    }

    /// The archive of `ref` in `format`; 404 when the ref names no commit.
    func wanted(_ repository: Repository, ref: String, format: ArchiveFormat) async throws -> Wanted {
        guard GitInput.revisionProblem(ref) == nil else { throw GatewayError.notFound }
        let commit: String?
        do {
            commit = try await content.commits(repository, ref: ref, path: "", limit: 1, skip: 0).first?.sha
        } catch GatewayError.invalid {
            commit = nil  // the store's "no such ref": a store that does not answer stays a 503
        }
        guard let commit else { throw GatewayError.notFound }
        let savedAs = "\(ArchiveFormat.prefix(repository: repository.name, ref: ref)).\(format.rawValue)"
        guard ArchiveFormat.prefixProblem(savedAs) == nil else { throw GatewayError.notFound }
        return Wanted(commit: commit, format: format, savedAs: savedAs, blobName: ArchiveFormat.blobName(commit: commit, format: format))
    }

    /// The archive's blob: kept already, or built within `wait` (nil when it is still being built).
    func blob(_ repository: Repository, _ wanted: Wanted) async throws -> RepositoryBlob? {
        if let blob = try await downloads.blobs.find(repositoryID: repository.id, use: .archive, name: wanted.blobName) { return blob }
        try await requestBuild(repository, wanted)
        let deadline = ContinuousClock.now + wait
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            if let blob = try await downloads.blobs.find(repositoryID: repository.id, use: .archive, name: wanted.blobName) { return blob }
        }
        return nil
    }

    /// Enqueues the archive's task unless its build is pending already; refuses when the
    /// repository has as many builds pending as it may.
    private func requestBuild(_ repository: Repository, _ wanted: Wanted) async throws {
        switch try await builds.claim(repository: repository.id, name: wanted.blobName, now: Date().timeIntervalSince1970) {
        case .pending: return
        case .busy:
            throw GatewayError.tooManyRequests(
                "\(builds.limit) archives of this repository are being prepared already; try again in a minute.", retryAfter: 30)
        case .claimed:
            let prefix = ArchiveFormat.prefix(repository: repository.name, ref: String(wanted.commit.prefix(12)))
            let task = TaskEnvelope(kind: "repo.archive", args: .object([
                "repository_id": .number(Double(repository.id)), "commit": .string(wanted.commit), "format": .string(wanted.format.rawValue),
                "prefix": .string(prefix),
            ]))
            try await outbox.transaction { transaction in try await transaction.enqueue(task, queue: QueueName.archives.rawValue) }
        }
    }
}
