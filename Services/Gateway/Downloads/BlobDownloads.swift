import CairnModel
import CairnSigning
import Foundation
import HTTPTypes
import Hummingbird

/// Hands a repository's blob (a download or an archive) to a visitor: counts the download,
/// emits `repo.download`, and redirects to a blob-store link signed for that one blob, GET
/// only, for `linkLifetime`, saved under the file's name. The body never passes through
/// the gateway.
struct BlobDownloads: Sendable {
    let blobs: RepositoryBlobStore
    let signer: Signer
    /// Where clients reach the blob store (`blobstore.publicURL`).
    let blobURL: String
    let traffic: TrafficEvents
    static let linkLifetime: TimeInterval = 300

    func redirect(to blob: RepositoryBlob, savedAs filename: String, page: RepositoryPage) async throws -> Response {
        try await redirect(to: blob, savedAs: filename, visitor: page.visitorID, actor: page.visitor.user?.id)
    }

    /// The redirect for `visitor` (an analytics visitor id) and the signed-in `actor`, if any.
    func redirect(to blob: RepositoryBlob, savedAs filename: String, visitor: String, actor: Int64?) async throws -> Response {
        try await blobs.countDownload(repositoryID: blob.repositoryID, use: blob.use, name: blob.name)
        traffic.download(repository: blob.repositoryID, visitor: visitor, actor: actor, name: filename)
        let link = BlobLink(blob: blob.sha256, method: "GET", expires: Date().addingTimeInterval(Self.linkLifetime), filename: filename)
        return Response(status: .found, headers: [.location: blobURL + (try link.path(signer: signer)), .cacheControl: "no-store"])
    }
}
