import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
public import CairnService
import CairnSigning
public import Hummingbird

/// The fingerprint of the page templates and assets compiled into this gateway: the cached
/// fragments in Redis are keyed under it (`<namespace>:fragment:<fingerprint>:…`).
public var pageTemplatesFingerprint: String { PageRenderer.fingerprint }

/// Builds `cairn-gateway`: the public front door (the web pages, git over HTTP, the REST API).
/// It needs the main database, Redis and the repository store; it reads traffic from the
/// analytics database when that answers, and serves everything else when it does not.
///
/// Every request passes the same pipeline (client address, route figures, Server-Timing,
/// replica routing, error reports, read-only mode); then pages get their errors as pages and
/// their visitor from the session (`VisitorMiddleware`), and the API, git and LFS their
/// caller from a token or password (`CallerMiddleware`). Routes of one repository declare the
/// permission they need (`RouterGroup.repository`), checked before their handler runs.
public func buildGateway(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let configuration = environment.configuration
    let logger = environment.logger
    let stores = DaemonStores(environment, needs: [.mainDatabase, .redis, .replicas], optional: [.analyticsDatabase], degradable: [.redis])
    let router = DaemonRouter.make(GatewayContext.self, daemon: .gateway, signature: environment.internalSignature, registry: environment.registry, checks: stores.checks)
    let database = stores.main!
    let users = UserStore(client: database, logger: logger)
    let repositories = RepositoryStore(client: database, logger: logger)
    let readYourWrites = stores.replicaSet.map {
        ReadYourWrites(replicas: $0, redis: stores.redis!, namespace: configuration.redisNamespace, window: configuration.readYourWrites)
    }
    let limiter = SignInLimiter(redis: stores.redis!, namespace: configuration.redisNamespace)
    let authenticator = Authenticator(
        users: users, tokens: TokenStore(client: database, logger: logger), repositoryTokens: RepositoryTokenStore(client: database, logger: logger), signer: environment.signer,
        readYourWrites: readYourWrites, limiter: limiter)
    let directory = RepositoryDirectory(database: configuration.database, logger: logger)
    let access = RepositoryAccess(repositories: repositories, directory: directory)
    let repostore = InternalClient(.repostore, baseURL: configuration.listener(.repostore).url, signature: environment.internalSignature)
    let cleaner = OutboxCleaner(client: database, logger: logger)
    let outbox = Outbox(client: database, redis: stores.redis!, namespace: configuration.redisNamespace, cleaner: cleaner, logger: logger)
    let service = RepositoryService(repositories: repositories, outbox: outbox, repostore: repostore, logger: logger)
    let baseURL = configuration.publicURL
    let content = RepositoryContent(repostore: repostore)
    let redis = stores.redis!
    let events = EventPublisher(redis: redis, namespace: configuration.redisNamespace, logger: logger)
    let trafficEvents = TrafficEvents(publisher: events, signingKey: configuration.signingKey)
    let traffic = TrafficStore(client: stores.analytics!, logger: logger)

    let social = SocialGraph(client: database, redis: redis, namespace: configuration.redisNamespace, logger: logger)
    let assets = StaticAssets()
    let sessions = PageSessions(
        signer: try Signer(key: configuration.signingKey, fallbackKeys: configuration.signingFallbackKeys),
        users: users, secure: baseURL.lowercased().hasPrefix("https:"), readYourWrites: readYourWrites)
    let readOnly = ReadOnlySwitch(redis: redis, namespace: configuration.redisNamespace)
    let flags = FeatureFlags(redis: redis, namespace: configuration.redisNamespace)
    let pages = Pages(renderer: try PageRenderer(assets: assets), sessions: sessions, readOnly: readOnly)
    let errorReports = ErrorReportStore(client: database, logger: logger)
    let reporter = ErrorReporter(reports: errorReports)
    let routeStats = RouteStats(redis: redis, namespace: configuration.redisNamespace, logger: logger)
    router.add(middleware: ClientAddressMiddleware())
    router.add(middleware: RouteStatsMiddleware(stats: routeStats))
    router.add(middleware: ServerTimingMiddleware())
    router.add(middleware: DirectoryWritesMiddleware(directory: directory))
    if let readYourWrites { router.add(middleware: ReplicaRoutingMiddleware(readYourWrites: readYourWrites)) }
    router.add(middleware: ErrorReportMiddleware(reporter: reporter))
    router.add(middleware: ReadOnlyMiddleware(readOnly: readOnly, pages: pages))
    // Pages: errors as pages, and the visitor worked out once, from the session cookie.
    let pageRoutes = router.group()
        .add(middleware: PageErrorMiddleware(pages: pages, reporter: reporter))
        .add(middleware: VisitorMiddleware(sessions: sessions))
    ErrorPagesController(pages: pages, reports: errorReports).addRoutes(to: pageRoutes)
    RoutePagesController(pages: pages, stats: routeStats).addRoutes(to: pageRoutes)
    StatusPagesController(
        pages: pages, readOnly: readOnly, incidents: IncidentStore(client: database, logger: logger), configuration: configuration, checks: stores.checks
    ).addRoutes(to: pageRoutes)
    SwitchesPagesController(pages: pages, readOnly: readOnly, flags: flags).addRoutes(to: pageRoutes)
    assets.addRoutes(to: router)
    let fragments = FragmentCache(redis: redis, namespace: configuration.redisNamespace, flags: flags, logger: logger)
    let repositoryPages = RepositoryPages(
        pages: pages, access: access, cache: fragments, social: social, users: users, traffic: trafficEvents, baseURL: baseURL)
    AccountPagesController(
        pages: pages, users: users, tokens: TokenStore(client: database, logger: logger),
        limiter: limiter, outbox: outbox).addRoutes(to: pageRoutes)
    UnsubscribePagesController(pages: pages, users: users).addRoutes(to: pageRoutes)
    HomePagesController(pages: pages, users: users, repositories: repositories, service: service, social: social, cache: fragments).addRoutes(to: pageRoutes)
    let hooks = WebhookStore(client: database, logger: logger)
    let protections = BranchProtectionStore(client: database, logger: logger)
    let statuses = CommitStatusService(
        statuses: CommitStatusStore(client: database, logger: logger), users: users, content: content, hooks: hooks, outbox: outbox,
        protections: protections, baseURL: baseURL, logger: logger)
    RepositoryPagesController(
        pages: pages, repositoryPages: repositoryPages, content: content, social: social,
        highlighting: CodeHighlighting(repostore: content.repostore, cache: fragments, logger: logger), service: service, statuses: statuses,
        ssh: configuration.ssh
    ).addRoutes(to: pageRoutes)
    RepositorySettingsPagesController(
        pages: pages, users: users, repositories: repositories, service: service, content: content, repositoryPages: repositoryPages
    ).addRoutes(to: pageRoutes)
    let webhooks = WebhookService(hooks: hooks, outbox: outbox, baseURL: baseURL)
    let pulls = PullRequestStore(client: database, logger: logger)
    let branchRules = BranchRuleService(
        rules: protections, statuses: statuses.statuses, pulls: pulls, repositories: repositories, users: users, content: content)
    let pullRequests = PullRequestService(
        pulls: pulls, repositories: repositories, users: users,
        events: PullRequestEvents(hooks: hooks, outbox: outbox, repositories: repositories, pulls: pulls, baseURL: baseURL), repostore: repostore, content: content, social: social, traffic: trafficEvents,
        branchRules: branchRules, logger: logger)
    WebhookPagesController(pages: pages, repositoryPages: repositoryPages, hooks: hooks, service: webhooks).addRoutes(to: pageRoutes)
    BranchRulePagesController(pages: pages, repositoryPages: repositoryPages, protections: protections, users: users).addRoutes(to: pageRoutes)
    SSHKeyPagesController(pages: pages, repositoryPages: repositoryPages, keys: SSHKeyStore(client: database, logger: logger)).addRoutes(to: pageRoutes)
    RepositoryTokenPagesController(
        pages: pages, repositoryPages: repositoryPages, tokens: RepositoryTokenStore(client: database, logger: logger), users: users
    ).addRoutes(to: pageRoutes)
    PullRequestPagesController(
        pages: pages, repositoryPages: repositoryPages, pulls: pulls, service: pullRequests, statuses: statuses, content: content,
        highlighting: CodeHighlighting(repostore: content.repostore, cache: fragments, logger: logger), cache: fragments
    ).addRoutes(to: pageRoutes)
    TrafficPagesController(pages: pages, repositoryPages: repositoryPages, traffic: traffic, growth: SiteGrowthStore(client: database, logger: logger)).addRoutes(to: pageRoutes)
    let blobstore = InternalClient(.blobstore, baseURL: configuration.listener(.blobstore).url, signature: environment.internalSignature, timing: .blobstore)
    let repositoryBlobs = RepositoryBlobStore(client: database, logger: logger)
    let downloads = BlobDownloads(blobs: repositoryBlobs, signer: environment.signer, blobURL: configuration.blobPublicURL, traffic: trafficEvents)
    DownloadsPagesController(pages: pages, repositoryPages: repositoryPages, downloads: downloads, blobstore: blobstore, baseURL: baseURL).addRoutes(to: pageRoutes)
    // The API, git and LFS: the caller is worked out once, by CallerMiddleware.
    let callerRoutes = router.group().add(middleware: CallerMiddleware(authenticator: authenticator))
    ArchiveController(
        repositoryPages: repositoryPages, access: access,
        archives: Archives(content: content, downloads: downloads, outbox: outbox, builds: ArchiveBuilds(redis: redis, namespace: configuration.redisNamespace)),
        traffic: trafficEvents, pages: pages, baseURL: baseURL
    ).addRoutes(pages: pageRoutes, api: callerRoutes)
    TrafficAPIController(access: access, traffic: traffic).addRoutes(to: callerRoutes)
    UserAPIController(users: users, repositories: repositories, service: service, baseURL: baseURL).addRoutes(to: callerRoutes)
    RepositoryAPIController(access: access, repositories: repositories, service: service, repostore: repostore, baseURL: baseURL).addRoutes(to: callerRoutes)
    SocialAPIController(access: access, users: users, social: social, baseURL: baseURL).addRoutes(to: callerRoutes)
    CollaboratorAPIController(access: access, users: users, repositories: repositories, baseURL: baseURL).addRoutes(to: callerRoutes)
    ContentAPIController(access: access, content: content, protections: protections, baseURL: baseURL).addRoutes(to: callerRoutes)
    WebhookAPIController(access: access, hooks: hooks, service: webhooks, baseURL: baseURL).addRoutes(to: callerRoutes)
    PullRequestAPIController(access: access, pulls: pulls, service: pullRequests, content: content, baseURL: baseURL).addRoutes(to: callerRoutes)
    CommitStatusAPIController(access: access, service: statuses, content: content, baseURL: baseURL).addRoutes(to: callerRoutes)
    BranchProtectionAPIController(access: access, protections: protections, users: users, baseURL: baseURL).addRoutes(to: callerRoutes)
    SSHKeyAPIController(access: access, keys: SSHKeyStore(client: database, logger: logger), users: users, baseURL: baseURL).addRoutes(to: callerRoutes)
    GitController(access: access, repostore: repostore, traffic: trafficEvents, branchRules: branchRules).addRoutes(to: callerRoutes)
    LFSController(
        access: access, objects: repositoryBlobs, readOnly: readOnly, blobstore: blobstore,
        signer: environment.signer, blobURL: configuration.blobPublicURL, baseURL: baseURL, maxObjectSize: configuration.maxBlobBytes
    ).addRoutes(to: callerRoutes)
    return DaemonApplication.make(environment, router: router, stores: stores, services: [cleaner, events, routeStats, RouteStatsGauges(stats: routeStats), directory])
}
