import AsyncHTTPClient
import CairnProtocol
public import CairnService
import CairnSigning
import Foundation
public import Hummingbird
import Logging
import NIOPosix
import ServiceLifecycle

/// Builds `cairn-blobstore`: content-addressed blobs on local disk (`LocalBlobs`) or in an
/// S3-compatible object store (`S3Blobs`), as `blobstore.backend` says, served over signed
/// internal requests and, for downloads, links the gateway signed (see `BlobController`);
/// needs no other store.
public func buildBlobStore(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let configuration = environment.configuration
    let root = configuration.blobRoot
    let threads = NIOThreadPool(numberOfThreads: 8)
    threads.start()
    let backend: any BlobBackend
    var s3Client: HTTPClient?
    var checks: [ReadinessCheck] = [.writableDirectory("blobs", root)]
    switch configuration.blobBackend {
    case .local:
        backend = LocalBlobs(root: root, threads: threads, maxSize: configuration.maxBlobBytes)
    case .s3(let settings):
        let http = S3Blobs.makeHTTPClient()
        s3Client = http
        let s3 = S3Blobs(
            endpoint: settings.endpoint, bucket: settings.bucket,
            signer: SigV4(accessKeyID: settings.accessKeyID, secretAccessKey: settings.secretAccessKey, region: settings.region),
            http: http, spool: BlobSpool(folder: "\(root)/tmp", threads: threads, maxSize: configuration.maxBlobBytes),
            threads: threads, partSize: settings.partBytes)
        do {
            try await s3.createBucketIfMissing()
        } catch {
            // The store may come up later; readiness says so until then.
            environment.logger.warning("cannot check or create the bucket", metadata: ["bucket": "\(settings.bucket)", "error": "\(error)"])
        }
        checks.append(ReadinessCheck(name: "s3") { try await s3.check() })
        backend = s3
    }
    try await backend.prepare()
    let stores = DaemonStores(environment, needs: [])
    let router = DaemonRouter.make(
        BasicRequestContext.self, daemon: .blobstore, signature: environment.internalSignature, registry: environment.registry,
        checks: checks, publicPrefixes: ["/dl/"],
        streamsBody: { method, path in (method == .put && path.hasPrefix("/blobs/")) || (method == .post && path == "/blobs") })
    let receipts = try UploadReceipts(root: configuration.blobRoot, logger: environment.logger)
    BlobController(blobs: backend, signer: environment.signer, receipts: receipts).addRoutes(to: router)
    return DaemonApplication.make(environment, router: router, stores: stores, services: [BlobThreads(pool: threads, http: s3Client), receipts])
}

/// Shuts the file threads and the object store's client down when the daemon stops.
private struct BlobThreads: Service {
    let pool: NIOThreadPool
    let http: HTTPClient?

    func run() async throws {
        try? await gracefulShutdown()
        try? await http?.shutdown()
        try await pool.shutdownGracefully()
    }
}
