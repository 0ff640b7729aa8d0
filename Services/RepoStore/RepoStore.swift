import CairnProtocol
import CairnRedis
public import CairnService
import Foundation
import Glibc
public import Hummingbird

/// Builds `cairn-repostore`: bare repositories under `repostore.root`, served to the gateway
/// over signed internal HTTP (create, delete, git smart HTTP); pushes become `repo.push`
/// events and `push` tasks in Redis.
public func buildRepoStore(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let configuration = environment.configuration
    let root = configuration.repositoryRoot
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let locator = RepositoryLocator(root: root)
    try HookInstaller.install(at: locator.hooksPath)
    let stores = DaemonStores(environment, needs: [.redis], degradable: [.redis])
    let router = DaemonRouter.make(
        BasicRequestContext.self, daemon: .repostore, signature: environment.internalSignature, registry: environment.registry,
        checks: stores.checks + [.writableDirectory("repositories", root)],
        streamsBody: { method, path in method == .post && (path.hasSuffix("/git-receive-pack") || path.hasSuffix("/git-upload-pack")) })
    // (…/session/git-upload-pack and …/session/git-receive-pack end so too.)
    let git = Git(logger: environment.logger)
    let events = EventPublisher(redis: stores.redis!, namespace: configuration.redisNamespace, logger: environment.logger)
    let pushTasks = ReliableQueue(redis: stores.redis!, name: QueueName.default.rawValue, namespace: configuration.redisNamespace)
    let spool = try PushSpool(root: root)
    let pushes = PushRecorder(
        events: events, tasks: pushTasks, spool: spool,
        maintenance: ReliableQueue(redis: stores.redis!, name: QueueName.maintenance.rawValue, namespace: configuration.redisNamespace),
        locator: locator, git: git)
    RepositoryController(locator: locator, git: git).addRoutes(to: router)
    // Writes into a pipe whose reader (git) has gone must fail with EPIPE, not kill the daemon.
    signal(SIGPIPE, SIG_IGN)
    SmartHTTPController(locator: locator, git: git, pushes: pushes, spool: spool, maxPushBytes: configuration.maxPushBytes)
        .addRoutes(to: router)
    GitSessionController(locator: locator, git: git, pushes: pushes, spool: spool, maxPushBytes: configuration.maxPushBytes).addRoutes(to: router)
    let highlighter = Highlighter(logger: environment.logger)
    BrowseController(locator: locator, git: git, highlighter: highlighter).addRoutes(to: router)
    PullController(locator: locator, git: git, merger: PullMerger(git: git, spool: spool, pushes: pushes, logger: environment.logger)).addRoutes(to: router)
    router.get("/spool") { _, _ in try Response.json(spool.backlog()) }
    return DaemonApplication.make(environment, router: router, stores: stores, services: [events, PushSpoolRelay(spool: spool, queue: pushTasks, logger: environment.logger), highlighter])
}
