import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
import Foundation
import HTTPTypes
import Hummingbird

/// `/<owner>/<repo>/archive/<ref>.tar.gz|.zip`: the repository at a branch, tag or commit
/// as `git archive` writes it. The ref is resolved to its commit first, and archives are
/// kept per commit and format (however the ref was spelled), their files under
/// `<repository>-<commit, 12 digits>/`, saved as `<repository>-<ref>.<format>`. The first
/// request for one claims its build (`ArchiveBuilds`: once, however many ask, and at most a
/// few per repository at a time, else 429) and waits up to `wait` for it, then answers 202
/// with `Retry-After` and a page that reloads itself.
struct ArchiveController: Sendable {
    let repositoryPages: RepositoryPages
    let content: RepositoryContent
    let downloads: BlobDownloads
    let outbox: Outbox
    let builds: ArchiveBuilds
    let pages: Pages
    let baseURL: String
    var wait: Duration = .seconds(3)
    static let retrySeconds = 3

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        repositoryPages.routes(router, requiring: .read).get("/:owner/:repo/archive/**") { request, context in
            let page = try await repositoryPages.load(request, context)
            guard let (ref, format) = ArchiveFormat.split(RepositoryPages.catchAll(context)), GitInput.revisionProblem(ref) == nil else {
                throw GatewayError.notFound
            }
            guard let commit = try? await content.commits(page.repository, ref: ref, path: "", limit: 1, skip: 0).first?.sha else {
                throw GatewayError.notFound
            }
            let savedAs = "\(ArchiveFormat.prefix(repository: page.repository.name, ref: ref)).\(format.rawValue)"
            guard ArchiveFormat.prefixProblem(savedAs) == nil else { throw GatewayError.notFound }
            let name = ArchiveFormat.blobName(commit: commit, format: format)
            if let blob = try await downloads.blobs.find(repositoryID: page.repository.id, use: .archive, name: name) {
                return try await downloads.redirect(to: blob, savedAs: savedAs, page: page)
            }
            try await requestArchive(page.repository, commit: commit, format: format, name: name)
            let deadline = ContinuousClock.now + wait
            while ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                if let blob = try await downloads.blobs.find(repositoryID: page.repository.id, use: .archive, name: name) {
                    return try await downloads.redirect(to: blob, savedAs: savedAs, page: page)
                }
            }
            let view = ArchivePendingView(fileName: savedAs, retrySeconds: Self.retrySeconds)
            var response = repositoryPages.repositoryPage(
                page, header: page.header("code", baseURL: baseURL), body: pages.renderer.render("archive_pending", view),
                title: "Preparing \(savedAs)", status: .accepted)
            response.headers[.retryAfter] = String(Self.retrySeconds)
            response.headers[HTTPField.Name("Refresh")!] = String(Self.retrySeconds)
            return response
        }
    }

    /// Enqueues the archive's task unless its build is pending already; refuses when the
    /// repository has as many builds pending as it may.
    private func requestArchive(_ repository: Repository, commit: String, format: ArchiveFormat, name: String) async throws {
        switch try await builds.claim(repository: repository.id, name: name, now: Date().timeIntervalSince1970) {
        case .pending: return
        case .busy:
            throw GatewayError.tooManyRequests(
                "\(builds.limit) archives of this repository are being prepared already; try again in a minute.", retryAfter: 30)
        case .claimed:
            let prefix = ArchiveFormat.prefix(repository: repository.name, ref: String(commit.prefix(12)))
            let task = TaskEnvelope(kind: "repo.archive", args: .object([
                "repository_id": .number(Double(repository.id)), "commit": .string(commit), "format": .string(format.rawValue), "prefix": .string(prefix),
            ]))
            try await outbox.transaction { transaction in try await transaction.enqueue(task, queue: QueueName.archives.rawValue) }
        }
    }
}

struct ArchivePendingView {
    let fileName: String
    let retrySeconds: Int
}
