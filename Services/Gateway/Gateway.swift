import CairnProtocol
public import CairnService
public import Hummingbird

/// Builds `cairn-gateway`: the public front door. It needs the main database and Redis.
public func buildGateway(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let stores = DaemonStores(environment, needs: [.mainDatabase, .redis])
    let router = DaemonRouter.make(BasicRequestContext.self, daemon: .gateway, signature: environment.internalSignature, registry: environment.registry, checks: stores.checks)
    HomeController().addRoutes(to: router)
    return DaemonApplication.make(environment, responder: router.buildResponder(), stores: stores)
}
