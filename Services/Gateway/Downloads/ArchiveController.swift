import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
import Foundation
import HTTPTypes
import Hummingbird

/// `/<owner>/<repo>/archive/<ref>.tar.gz|.zip`: the repository at a branch, tag or commit
/// as `git archive` writes it. Archives are kept per commit in the blob store; the first
/// request for a commit enqueues a `repo.archive` task (once, however many ask) and waits
/// up to `wait` for it, then answers 202 with `Retry-After` and a page that reloads itself.
struct ArchiveController: Sendable {
    let browse: RepositoryPagesController
    let content: RepositoryContent
    let downloads: BlobDownloads
    let outbox: Outbox
    let redis: RedisClient
    let namespace: String
    let pages: Pages
    let baseURL: String
    var wait: Duration = .seconds(3)
    /// How long a requested archive is not requested again (its task is queued or running).
    static let pendingSeconds = 600
    static let retrySeconds = 3

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/:owner/:repo/archive/**") { request, context in
            let page = try await browse.load(request, context)
            guard let (ref, format) = ArchiveFormat.split(RepositoryPagesController.catchAll(context)), GitInput.revisionProblem(ref) == nil else {
                throw GatewayError.notFound
            }
            guard let commit = try? await content.commits(page.repository, ref: ref, path: "", limit: 1, skip: 0).first?.sha else {
                throw GatewayError.notFound
            }
            let prefix = ArchiveFormat.prefix(repository: page.repository.name, ref: ref)
            guard ArchiveFormat.prefixProblem(prefix) == nil else { throw GatewayError.notFound }
            let fileName = "\(prefix).\(format.rawValue)"
            let name = "\(commit)/\(fileName)"
            if let blob = try await downloads.blobs.find(repositoryID: page.repository.id, use: .archive, name: name) {
                return try await downloads.redirect(to: blob, savedAs: fileName, page: page)
            }
            try await requestArchive(page.repository, commit: commit, format: format, prefix: prefix, name: name)
            let deadline = ContinuousClock.now + wait
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                if let blob = try await downloads.blobs.find(repositoryID: page.repository.id, use: .archive, name: name) {
                    return try await downloads.redirect(to: blob, savedAs: fileName, page: page)
                }
            }
            let view = ArchivePendingView(fileName: fileName, retrySeconds: Self.retrySeconds)
            var response = browse.repositoryPage(
                page, header: page.header("code", baseURL: baseURL), body: pages.renderer.render("archive_pending", view),
                title: "Preparing \(fileName)", status: .accepted)
            response.headers[.retryAfter] = String(Self.retrySeconds)
            response.headers[HTTPField.Name("Refresh")!] = String(Self.retrySeconds)
            return response
        }
    }

    /// Enqueues the archive's task unless it was asked for within `pendingSeconds`.
    private func requestArchive(_ repository: Repository, commit: String, format: ArchiveFormat, prefix: String, name: String) async throws {
        let key = "\(namespace):archive:pending:\(repository.id):\(name)"
        guard case .status = try await redis.send("SET", key, "1", "NX", "EX", String(Self.pendingSeconds)) else { return }
        let task = TaskEnvelope(kind: "repo.archive", args: .object([
            "repository_id": .number(Double(repository.id)), "commit": .string(commit), "format": .string(format.rawValue), "prefix": .string(prefix),
        ]))
        try await outbox.transaction { transaction in try await transaction.enqueue(task, queue: QueueName.archives.rawValue) }
    }
}

struct ArchivePendingView {
    let fileName: String
    let retrySeconds: Int
}
