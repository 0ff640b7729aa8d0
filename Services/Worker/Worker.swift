import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
public import CairnService
public import Hummingbird
import ServiceLifecycle

/// Builds `cairn-worker`: background work. It relays the task outbox, reaps the tasks of
/// consumers that died, and runs each queue with its configured concurrency: `default`
/// (what follows a push), `webhooks` (deliveries, through the guarded outbound client) and
/// `maintenance` (repository maintenance and deletion) and `archives` (`git archive`
/// into the blob store). Needs the main database, Redis and
/// the repository and blob stores.
public func buildWorker(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let configuration = environment.configuration
    let logger = environment.logger
    // Every consumer blocks on a connection of its own while it waits for work.
    let consumers = QueueName.allCases.reduce(0) { $0 + (configuration.workerConcurrency[$1] ?? 1) }
    let stores = DaemonStores(environment, needs: [.mainDatabase, .redis], blockingRedisCallers: consumers)
    let router = DaemonRouter.make(BasicRequestContext.self, daemon: .worker, signature: environment.internalSignature, registry: environment.registry, checks: stores.checks)
    let namespace = configuration.redisNamespace
    let database = stores.main!
    let redis = stores.redis!
    let outbox = Outbox(client: database, redis: redis, namespace: namespace, logger: logger)
    let repostore = InternalClient(.repostore, baseURL: configuration.listener(.repostore).url, signature: environment.internalSignature)
    let hooks = WebhookStore(client: database, logger: logger)
    let pulls = PullRequestStore(client: database, logger: logger)
    let outbound = OutboundClient(
        policy: OutboundAddressPolicy(allowed: configuration.webhooks.allowedNetworks),
        connectTimeout: configuration.webhooks.connectTimeout, timeout: configuration.webhooks.timeout)

    // A push, mail or maintenance task fails while PostgreSQL, Redis or the repository store
    // is away: ten tries over about four minutes outlast a restart, where five over fifteen
    // seconds dead-lettered the pushes of a slow PostgreSQL restart in the fault drill.
    let outageRetry = RetryPolicy(maxAttempts: 10, baseDelay: .seconds(1), maxDelay: .seconds(60))
    func queue(_ name: QueueName, retry: RetryPolicy = RetryPolicy()) -> ReliableQueue {
        ReliableQueue(redis: redis, name: name.rawValue, namespace: namespace, retry: retry)
    }
    func runner(_ name: QueueName, retry: RetryPolicy = RetryPolicy(), _ handlers: [any TaskHandler]) -> TaskRunner {
        TaskRunner(queue: queue(name, retry: retry), handlers: handlers, concurrency: configuration.workerConcurrency[name] ?? 1,
                   heartbeatTTL: configuration.workerHeartbeatTTL, logger: logger)
    }
    let runners = [
        runner(.default, retry: outageRetry, [
            PushTask(
                repositories: RepositoryStore(client: database, logger: logger), users: UserStore(client: database, logger: logger),
                hooks: hooks, social: SocialGraph(client: database, redis: redis, namespace: namespace, logger: logger), outbox: outbox, repostore: repostore,
                pullRequests: PullRequestSync(
                    pulls: pulls, repositories: RepositoryStore(client: database, logger: logger),
                    events: PullRequestEvents(hooks: hooks, outbox: outbox, repositories: RepositoryStore(client: database, logger: logger), pulls: pulls, baseURL: configuration.publicURL),
                    repostore: repostore, logger: logger),
                baseURL: configuration.publicURL, logger: logger),
            MailTask(
                users: UserStore(client: database, logger: logger), repositories: RepositoryStore(client: database, logger: logger),
                signer: environment.signer,
                settings: configuration.mail, baseURL: configuration.publicURL),
        ]),
        runner(.webhooks, retry: RetryPolicy(maxAttempts: configuration.webhooks.maxAttempts, baseDelay: .seconds(1), maxDelay: .seconds(3600)), [
            WebhookDeliveryTask(hooks: hooks, sender: WebhookSender(client: outbound), maxAttempts: configuration.webhooks.maxAttempts, logger: logger),
        ]),
        runner(.maintenance, retry: outageRetry, [RepositoryMaintenance(repostore: repostore), RepositoryDeletion(repostore: repostore)]),
        runner(.archives, retry: outageRetry, [
            ArchiveTask(
                repostore: repostore, blobstore: InternalClient(.blobstore, baseURL: configuration.listener(.blobstore).url, signature: environment.internalSignature),
                blobs: RepositoryBlobStore(client: database, logger: logger), builds: ArchiveBuilds(redis: redis, namespace: namespace)),
        ]),
    ]
    return DaemonApplication.make(
        environment, router: router, stores: stores,
        services: [ClosesOnShutdown(outbound), OutboxRelay(outbox: outbox), QueueReaper(queues: runners.map(\.queue), logger: logger), QueueDepthGauge(queues: runners.map(\.queue))] + runners)
}

/// Shuts the outbound client down once everything listed after it has stopped (services
/// stop in reverse order).
private struct ClosesOnShutdown: Service {
    let client: OutboundClient
    init(_ client: OutboundClient) { self.client = client }

    func run() async throws {
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
