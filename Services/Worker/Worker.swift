import CairnDatabase
import CairnProtocol
import CairnRedis
public import CairnService
public import Hummingbird

/// Builds `cairn-worker`: background work. It relays the task outbox and reaps the tasks of
/// consumers that died; needs the main database and Redis.
public func buildWorker(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let stores = DaemonStores(environment, needs: [.mainDatabase, .redis])
    let router = DaemonRouter.make(BasicRequestContext.self, daemon: .worker, signature: environment.internalSignature, registry: environment.registry, checks: stores.checks)
    let namespace = environment.configuration.redisNamespace
    let outbox = Outbox(client: stores.main!, redis: stores.redis!, namespace: namespace, logger: environment.logger)
    let queues = QueueName.allCases.map { ReliableQueue(redis: stores.redis!, name: $0.rawValue, namespace: namespace) }
    return DaemonApplication.make(
        environment, responder: router.buildResponder(), stores: stores,
        services: [OutboxRelay(outbox: outbox), QueueReaper(queues: queues, logger: environment.logger)])
}
