import CairnDatabase
import CairnModel
import CairnProtocol
public import CairnService
public import Hummingbird

/// Builds `cairn-gateway`: the public front door (git over HTTP, the REST API, pages).
/// It needs the main database, Redis and the repository store.
public func buildGateway(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let configuration = environment.configuration
    let logger = environment.logger
    let stores = DaemonStores(environment, needs: [.mainDatabase, .redis])
    let router = DaemonRouter.make(BasicRequestContext.self, daemon: .gateway, signature: environment.internalSignature, registry: environment.registry, checks: stores.checks)
    let database = stores.main!
    let users = UserStore(client: database, logger: logger)
    let repositories = RepositoryStore(client: database, logger: logger)
    let authenticator = Authenticator(users: users, tokens: TokenStore(client: database, logger: logger))
    let access = RepositoryAccess(repositories: repositories, authenticator: authenticator)
    let repostore = InternalClient(baseURL: configuration.listener(.repostore).url, signature: environment.internalSignature)
    let cleaner = OutboxCleaner(client: database, logger: logger)
    let outbox = Outbox(client: database, redis: stores.redis!, namespace: configuration.redisNamespace, cleaner: cleaner, logger: logger)
    let service = RepositoryService(repositories: repositories, outbox: outbox, repostore: repostore, logger: logger)
    let baseURL = configuration.publicURL

    HomeController().addRoutes(to: router)
    UserAPIController(authenticator: authenticator, users: users, repositories: repositories, service: service, baseURL: baseURL).addRoutes(to: router)
    RepositoryAPIController(access: access, repositories: repositories, service: service, repostore: repostore, baseURL: baseURL).addRoutes(to: router)
    CollaboratorAPIController(access: access, users: users, repositories: repositories, baseURL: baseURL).addRoutes(to: router)
    ContentAPIController(access: access, repostore: repostore, baseURL: baseURL).addRoutes(to: router)
    GitController(authenticator: authenticator, access: access, repostore: repostore).addRoutes(to: router)
    return DaemonApplication.make(environment, responder: router.buildResponder(), stores: stores, services: [cleaner])
}
