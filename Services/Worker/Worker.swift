import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
public import CairnService
public import Hummingbird

/// Builds `cairn-worker`: background work. It relays the task outbox, reaps the tasks of
/// consumers that died, and runs the default queue (what follows a push) and the
/// maintenance queue (repository maintenance and deletion); needs the main database, Redis and the repository store.
public func buildWorker(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let stores = DaemonStores(environment, needs: [.mainDatabase, .redis])
    let router = DaemonRouter.make(BasicRequestContext.self, daemon: .worker, signature: environment.internalSignature, registry: environment.registry, checks: stores.checks)
    let namespace = environment.configuration.redisNamespace
    let outbox = Outbox(client: stores.main!, redis: stores.redis!, namespace: namespace, logger: environment.logger)
    let queues = QueueName.allCases.map { ReliableQueue(redis: stores.redis!, name: $0.rawValue, namespace: namespace) }
    let repostore = InternalClient(baseURL: environment.configuration.listener(.repostore).url, signature: environment.internalSignature)
    let maintenance = TaskRunner(
        queue: ReliableQueue(redis: stores.redis!, name: QueueName.maintenance.rawValue, namespace: namespace),
        handlers: [RepositoryMaintenance(repostore: repostore), RepositoryDeletion(repostore: repostore)],
        concurrency: 2, logger: environment.logger)
    let repositories = RepositoryStore(client: stores.main!, logger: environment.logger)
    let general = TaskRunner(
        queue: ReliableQueue(redis: stores.redis!, name: QueueName.default.rawValue, namespace: namespace),
        handlers: [PushTask(repositories: repositories, repostore: repostore)],
        concurrency: 4, logger: environment.logger)
    return DaemonApplication.make(
        environment, responder: router.buildResponder(), stores: stores,
        services: [OutboxRelay(outbox: outbox), QueueReaper(queues: queues, logger: environment.logger), general, maintenance])
}
