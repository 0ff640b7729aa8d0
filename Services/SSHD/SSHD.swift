import CairnModel
import CairnProtocol
import CairnRedis
import CairnSigning
public import CairnService
import Foundation
public import Hummingbird

/// Builds `cairn-sshd`: git over SSH on `sshd.sshHost:sshd.sshPort` (keys from `ssh_keys`,
/// permissions as over HTTP, sessions relayed to the repository store), with health,
/// readiness and metrics on `sshd.host:sshd.port`. Needs the main database; Redis only for
/// the read-only switch (without it the last answer stands).
public func buildSSHD(_ environment: DaemonEnvironment, onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws -> some ApplicationProtocol {
    let configuration = environment.configuration
    let logger = environment.logger
    let hostKey = try HostKey.load(at: configuration.ssh.hostKeyFile)
    let stores = DaemonStores(environment, needs: [.mainDatabase, .redis], degradable: [.redis])
    let router = DaemonRouter.make(BasicRequestContext.self, daemon: .sshd, signature: environment.internalSignature, registry: environment.registry, checks: stores.checks)
    let database = stores.main!
    let identities = SSHIdentities(keys: SSHKeyStore(client: database, logger: logger), users: UserStore(client: database, logger: logger))
    var sessions = GitSessions(
        repositories: RepositoryStore(client: database, logger: logger), identities: identities,
        protections: BranchProtectionStore(client: database, logger: logger), statuses: CommitStatusStore(client: database, logger: logger),
        readOnly: ReadOnlySwitch(redis: stores.redis!, namespace: configuration.redisNamespace),
        repostore: InternalClient(
            .repostore, baseURL: configuration.listener(.repostore).url, signature: environment.internalSignature, http: InternalClient.sessionHTTPClient),
        signer: environment.signer, visitors: VisitorIDs(signingKey: configuration.signingKey), publicURL: configuration.publicURL, logger: logger)
    sessions.idleLimit = configuration.ssh.idleLimit
    let listener = SSHListener(
        host: configuration.ssh.host, port: configuration.ssh.port, hostKey: hostKey, identities: identities, sessions: sessions, logger: logger, onListening: onListening)
    return DaemonApplication.make(environment, router: router, stores: stores, services: [listener])
}
