import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import CairnSigning
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// The Git LFS API at `/<owner>/<repo>.git/info/lfs/…`, with the repository's permissions
/// and git's credentials: the batch API (`basic` transfer) answers with links to the blob
/// store that the gateway signed for one object and one method, so object bodies never
/// pass through the gateway. A repository gains an object only by an upload made to it:
/// each upload link asks the blob store for a receipt, and `verify` records the object only
/// with the signed grant its batch answer carried and the blob store's receipt that the whole
/// body arrived and hashed to the object, so knowing an oid and size (printed in every
/// pointer file) attaches nothing, and no answer tells whether the content exists elsewhere.
/// The locks API is not offered (404, which git-lfs takes as "no locking").
struct LFSController: Sendable {
    let access: RepositoryAccess
    let objects: RepositoryBlobStore
    let readOnly: ReadOnlySwitch
    let blobstore: InternalClient
    let signer: Signer
    /// Where clients reach the blob store (`blobstore.publicURL`).
    let blobURL: String
    let baseURL: String
    let maxObjectSize: Int
    static let linkLifetime: TimeInterval = 3600
    /// The header of the verify action carrying the signed grant of one upload.
    static let grantHeader = "X-Cairn-LFS-Upload"
    static let grantField = HTTPField.Name(grantHeader)!
    static let grantSalt = "cairn.lfs-upload"
    static let maxObjectsPerBatch = 1000
    static let contentType = "application/vnd.git-lfs+json"

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.post("/:owner/:repo/info/lfs/objects/batch") { request, context in
            let batch = try await APIEncoding.decode(LFSBatchRequest.self, from: request, context: context)
            let upload = batch.operation == "upload"
            guard upload || batch.operation == "download" else { throw GatewayError.invalid("operation must be upload or download, got \(batch.operation)") }
            if upload, let message = await readOnly.message() { throw GatewayError.unavailable(message) }
            guard batch.transfers?.contains("basic") ?? true else { throw GatewayError.invalid("only the basic transfer is offered") }
            guard batch.objects.count <= Self.maxObjectsPerBatch else { throw GatewayError.invalid("at most \(Self.maxObjectsPerBatch) objects per batch") }
            let repository = try await self.repository(request, context, needed: upload ? .write : .read)
            let known = try await objects.sizes(repositoryID: repository.id, use: .lfs, names: batch.objects.map(\.oid).filter(\.isSHA256Hex))
            let expires = Date().addingTimeInterval(Self.linkLifetime)
            var answered: [LFSObjectAnswer] = []
            for object in batch.objects {
                guard object.oid.isSHA256Hex, object.size >= 0 else {
                    answered.append(.init(object, error: .init(code: 422, message: "oid must be a SHA-256 (64 lowercase hex digits) and size not negative")))
                    continue
                }
                guard object.size <= maxObjectSize else {
                    answered.append(.init(object, error: .init(code: 422, message: "larger than the \(maxObjectSize) bytes this server accepts")))
                    continue
                }
                if upload {
                    if known[object.oid] != nil { answered.append(.init(object)); continue }
                    let receipt = UUID().uuidString.lowercased()
                    var verifyHeader: [String: String] = [:]
                    if let authorization = request.headers[.authorization] { verifyHeader["Authorization"] = authorization }
                    let grant = LFSUploadGrant(repository: repository.id, oid: object.oid, size: object.size, receipt: receipt)
                    verifyHeader[Self.grantHeader] = try signer.sign(grant, salt: Self.grantSalt)
                    let link = BlobLink(blob: object.oid, method: "PUT", expires: expires, receipt: receipt)
                    answered.append(.init(object, actions: [
                        "upload": .init(href: blobURL + (try link.path(signer: signer)), expiresIn: Int(Self.linkLifetime)),
                        "verify": .init(href: "\(baseURL)/\(repository.fullName).git/info/lfs/objects/verify", header: verifyHeader, expiresIn: Int(Self.linkLifetime)),
                    ]))
                } else if known[object.oid] != nil {
                    answered.append(.init(object, actions: [
                        "download": .init(href: blobURL + (try BlobLink(blob: object.oid, method: "GET", expires: expires).path(signer: signer)), expiresIn: Int(Self.linkLifetime)),
                    ]))
                } else {
                    answered.append(.init(object, error: .init(code: 404, message: "Object does not exist")))
                }
            }
            return try Self.response(LFSBatchResponse(objects: answered))
        }
        router.post("/:owner/:repo/info/lfs/objects/verify") { request, context in
            let object = try await APIEncoding.decode(LFSObject.self, from: request, context: context)
            guard object.oid.isSHA256Hex else { throw GatewayError.invalid("oid must be a SHA-256 (64 lowercase hex digits)") }
            let repository = try await self.repository(request, context, needed: .write)
            // The same answer whether or not the content exists elsewhere.
            let notUploaded = GatewayError.forbidden("No upload of \(object.oid) to \(repository.fullName) was received: upload it through a batch request first")
            guard let token = request.headers[Self.grantField],
                  let grant = try? signer.unsign(token, as: LFSUploadGrant.self, salt: Self.grantSalt, maxAge: .seconds(Int64(2 * Self.linkLifetime))),
                  grant.repository == repository.id, grant.oid == object.oid, grant.size == object.size,
                  let receipt = try await blobstore.getJSON(UploadReceipt.self, "/receipts/\(grant.receipt)"),
                  receipt.sha256 == object.oid
            else { throw notUploaded }
            guard receipt.size == object.size else { throw GatewayError.invalid("the uploaded object's size is \(receipt.size), not \(object.size)") }
            try await objects.record(repositoryID: repository.id, use: .lfs, name: object.oid, sha256: object.oid, size: object.size)
            return try Self.response([String: String]())
        }
        router.on("/:owner/:repo/info/lfs/locks/**", method: .get) { _, _ -> Response in throw GatewayError.notFound }
        router.on("/:owner/:repo/info/lfs/locks/**", method: .post) { _, _ -> Response in throw GatewayError.notFound }
        router.get("/:owner/:repo/info/lfs/locks") { _, _ -> Response in throw GatewayError.notFound }
        router.post("/:owner/:repo/info/lfs/locks") { _, _ -> Response in throw GatewayError.notFound }
    }

    /// The repository of the route, if the caller has `needed` on it; anonymous callers are
    /// asked for credentials (401) so that git-lfs prompts, as git does.
    private func repository(_ request: Request, _ context: GatewayContext, needed: Permission) async throws -> Repository {
        let caller = context.caller
        var name = try context.parameters.require("repo")
        guard name.hasSuffix(".git") else { throw GatewayError.notFound }
        name.removeLast(4)
        return try await access.require(needed, owner: context.parameters.require("owner"), name: name, caller: caller, challengeAnonymous: true).0
    }

    private static func response(_ value: some Encodable) throws -> Response {
        try APIEncoding.response(value, headers: [.contentType: contentType])
    }
}

/// What a batch answer allowed: one upload of `oid` to `repository`, whose blob store
/// receipt is `receipt`. Signed into the verify action's header.
struct LFSUploadGrant: Codable {
    let repository: Int64
    let oid: String
    let size: Int64
    let receipt: String
}

struct LFSObject: Codable {
    let oid: String
    let size: Int64
}

struct LFSBatchRequest: Decodable {
    let operation: String
    let transfers: [String]?
    let objects: [LFSObject]
}

struct LFSBatchResponse: Encodable {
    var transfer = "basic"
    let objects: [LFSObjectAnswer]
    var hashAlgo = "sha256"
}

struct LFSObjectAnswer: Encodable {
    let oid: String
    let size: Int64
    var authenticated = true
    var actions: [String: LFSAction]?
    var error: LFSObjectError?

    init(_ object: LFSObject, actions: [String: LFSAction]? = nil, error: LFSObjectError? = nil) {
        oid = object.oid
        size = object.size
        self.actions = actions
        self.error = error
    }
}

struct LFSAction: Encodable {
    let href: String
    var header: [String: String]?
    let expiresIn: Int
}

struct LFSObjectError: Encodable {
    let code: Int
    let message: String
}
