import CairnProtocol
public import CairnService
import Foundation
public import Hummingbird

/// Builds `cairn-blobstore`: content-addressed blobs under `blobstore.root`; needs no other store.
public func buildBlobStore(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let root = environment.configuration.blobRoot
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let stores = DaemonStores(environment, needs: [])
    let router = DaemonRouter.make(
        BasicRequestContext.self, daemon: .blobstore, signature: environment.internalSignature, registry: environment.registry,
        checks: [.writableDirectory("blobs", root)])
    return DaemonApplication.make(environment, responder: router.buildResponder(), stores: stores)
}
