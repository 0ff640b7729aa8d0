import CairnModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSH

/// Who a connection authenticated as: a person's key, or a repository's deploy key (`user`
/// nil), with the person who added it.
struct SSHIdentity: Sendable {
    let key: SSHKey
    let user: User?
}

/// Public-key authentication against `ssh_keys`, one instance per connection, which keeps the
/// identity for the connection's sessions. NIOSSH checks the signature before asking; anything
/// but a known key, or a key of a suspended account, is refused.
final class KeyAuthenticator: NIOSSHServerUserAuthenticationDelegate, Sendable {
    let keys: SSHKeyStore
    let users: UserStore
    let logger: Logger
    private let identity = NIOLockedValueBox<SSHIdentity?>(nil)

    init(keys: SSHKeyStore, users: UserStore, logger: Logger) {
        self.keys = keys
        self.users = users
        self.logger = logger
    }

    /// The identity once a key was accepted.
    var authenticated: SSHIdentity? { identity.withLockedValue { $0 } }

    var supportedAuthenticationMethods: NIOSSHAvailableUserAuthenticationMethods { .publicKey }

    func requestReceived(request: NIOSSHUserAuthenticationRequest, responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>) {
        guard case .publicKey(let offered) = request.request, let parsed = try? SSHPublicKey(String(openSSHPublicKey: offered.publicKey)) else {
            responsePromise.succeed(.failure)
            return
        }
        let (keys, users, identity, logger) = (keys, users, identity, logger)
        Task {
            do {
                guard let key = try await keys.find(fingerprint: parsed.fingerprint) else { return responsePromise.succeed(.failure) }
                var user: User?
                if let id = key.userID {
                    user = try await users.find(id: id)
                    guard user != nil else { return responsePromise.succeed(.failure) }
                }
                identity.withLockedValue { $0 = SSHIdentity(key: key, user: user) }
                try? await keys.recordUse(id: key.id)
                responsePromise.succeed(.success)
            } catch {
                // A database that does not answer: refused, and said in the log.
                logger.warning("sshd.auth_failed", metadata: ["error": "\(error)"])
                responsePromise.succeed(.failure)
            }
        }
    }
}
