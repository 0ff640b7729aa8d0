import CairnProtocol
public import CairnService
import Foundation
public import Hummingbird

/// Builds `cairn-repostore`: bare repositories under `repostore.root`; needs Redis for events and tasks.
public func buildRepoStore(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let root = environment.configuration.repositoryRoot
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let stores = DaemonStores(environment, needs: [.redis])
    let router = DaemonRouter.make(
        BasicRequestContext.self, daemon: .repostore, signature: environment.internalSignature, registry: environment.registry,
        checks: stores.checks + [.writableDirectory("repositories", root)])
    return DaemonApplication.make(environment, responder: router.buildResponder(), stores: stores)
}
