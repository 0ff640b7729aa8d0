import CairnModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSH

/// Who a connection authenticated as: a person's key (`user`), or a repository's deploy key,
/// which acts for the admin who added it (`adder`).
struct SSHIdentity: Sendable {
    let key: SSHKey
    let user: User?
    let adder: User?

    /// The person whose permission bounds what the key may do.
    var person: User? { user ?? adder }
}

/// Public-key authentication against `ssh_keys`, one instance per connection, which keeps the
/// identity of the first key accepted for the connection's sessions (each session looks the
/// key up again: see `SSHIdentities.current`). NIOSSH checks the signature before asking;
/// anything but a known key whose person still has an account is refused.
final class KeyAuthenticator: NIOSSHServerUserAuthenticationDelegate, Sendable {
    let identities: SSHIdentities
    let logger: Logger
    /// Called once, when a key is first accepted.
    let onAuthenticated: @Sendable () -> Void
    private let identity = NIOLockedValueBox<SSHIdentity?>(nil)

    init(identities: SSHIdentities, logger: Logger, onAuthenticated: @escaping @Sendable () -> Void = {}) {
        self.identities = identities
        self.logger = logger
        self.onAuthenticated = onAuthenticated
    }

    /// The identity once a key was accepted.
    var authenticated: SSHIdentity? { identity.withLockedValue { $0 } }

    var supportedAuthenticationMethods: NIOSSHAvailableUserAuthenticationMethods { .publicKey }

    func requestReceived(request: NIOSSHUserAuthenticationRequest, responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>) {
        guard case .publicKey(let offered) = request.request, let parsed = try? SSHPublicKey(String(openSSHPublicKey: offered.publicKey)) else {
            responsePromise.succeed(.failure)
            return
        }
        let (identities, identity, logger, onAuthenticated) = (identities, identity, logger, onAuthenticated)
        Task {
            do {
                guard let found = try await identities.find(fingerprint: parsed.fingerprint) else { return responsePromise.succeed(.failure) }
                let first = identity.withLockedValue { current in
                    guard current == nil else { return false }
                    current = found
                    return true
                }
                if first { onAuthenticated() }
                try? await identities.keys.recordUse(id: found.key.id)
                responsePromise.succeed(.success)
            } catch {
                // A database that does not answer: refused, and said in the log.
                logger.warning("sshd.auth_failed", metadata: ["error": "\(error)"])
                responsePromise.succeed(.failure)
            }
        }
    }
}

/// Looks keys up with the people they belong to or act for.
struct SSHIdentities: Sendable {
    let keys: SSHKeyStore
    let users: UserStore

    /// The identity of the key with `fingerprint`; nil when there is none, or its person no
    /// longer has an account (a deploy key whose adder was deleted signs in nobody).
    func find(fingerprint: String) async throws -> SSHIdentity? {
        guard let key = try await keys.find(fingerprint: fingerprint) else { return nil }
        if let id = key.userID {
            guard let user = try await users.find(id: id) else { return nil }
            return SSHIdentity(key: key, user: user, adder: nil)
        }
        guard key.repositoryID != nil, let id = key.addedBy, let adder = try await users.find(id: id) else { return nil }
        return SSHIdentity(key: key, user: nil, adder: adder)
    }

    /// `identity` as it stands now: a session on a connection opened earlier must not outlive
    /// the key's deletion, its person's, or a change of their rights.
    func current(_ identity: SSHIdentity) async throws -> SSHIdentity? {
        guard let now = try await find(fingerprint: identity.key.fingerprint), now.key.id == identity.key.id else { return nil }
        return now
    }
}
