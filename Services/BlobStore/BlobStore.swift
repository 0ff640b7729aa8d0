import CairnProtocol
public import CairnService
import CairnSigning
import Foundation
public import Hummingbird
import NIOPosix
import ServiceLifecycle

/// Builds `cairn-blobstore`: content-addressed blobs under `blobstore.root` (see
/// `LocalBlobs`), served over signed internal requests and, for downloads, links the
/// gateway signed (see `BlobController`); needs no other store.
public func buildBlobStore(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let configuration = environment.configuration
    let root = configuration.blobRoot
    let threads = NIOThreadPool(numberOfThreads: 8)
    threads.start()
    let blobs = LocalBlobs(root: root, threads: threads, maxSize: configuration.maxBlobBytes)
    try blobs.prepare()
    let stores = DaemonStores(environment, needs: [])
    let router = DaemonRouter.make(
        BasicRequestContext.self, daemon: .blobstore, signature: environment.internalSignature, registry: environment.registry,
        checks: [.writableDirectory("blobs", root)], publicPrefixes: ["/dl/"])
    BlobController(blobs: blobs, signer: environment.signer).addRoutes(to: router)
    return DaemonApplication.make(environment, responder: router.buildResponder(), stores: stores, services: [BlobThreads(pool: threads)])
}

/// Shuts the file threads down when the daemon stops.
private struct BlobThreads: Service {
    let pool: NIOThreadPool

    func run() async throws {
        try? await gracefulShutdown()
        try await pool.shutdownGracefully()
    }
}
