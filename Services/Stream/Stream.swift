import CairnProtocol
public import CairnService
public import Hummingbird

/// Builds `cairn-stream`: the analytics pipeline; needs Redis and the analytics database.
public func buildStream(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let stores = DaemonStores(environment, needs: [.analyticsDatabase, .redis])
    let router = DaemonRouter.make(BasicRequestContext.self, daemon: .stream, signature: environment.internalSignature, registry: environment.registry, checks: stores.checks)
    return DaemonApplication.make(environment, responder: router.buildResponder(), stores: stores)
}
