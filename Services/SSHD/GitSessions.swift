import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import CairnSigning
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSH

/// Serves session channels: authorises an exec'd git command as the gateway authorises git
/// over HTTP (the same permission code: private repositories are "not found" to outsiders,
/// readers cannot push, read-only mode refuses pushes, a deploy key reaches its repository
/// only) and relays it to the repository store's session endpoint, both ways at once, the
/// client's bytes read only as fast as the store takes them.
struct GitSessions: Sendable {
    let repositories: RepositoryStore
    let identities: SSHIdentities
    let protections: BranchProtectionStore
    let statuses: CommitStatusStore
    let readOnly: ReadOnlySwitch
    let repostore: InternalClient
    let signer: Signer
    /// Makes the analytics visitor id a fetch is counted under, as the gateway makes it.
    let visitors: VisitorIDs
    /// `gateway.publicURL`, for the LFS API's address.
    let publicURL: String
    let logger: Logger
    /// How long a session may move no bytes either way before it is ended.
    var idleLimit: Duration = .seconds(120)

    /// Serves `channel` to its end: waits for its request, runs it, and sends the exit status.
    func serve(_ channel: NIOAsyncChannel<SSHChannelData, SSHChannelData>, request: EventLoopFuture<SessionRequest>, identity: SSHIdentity?) async {
        do {
            try await channel.executeThenClose { inbound, outbound in
                let status: Int
                let request = try await request.get()
                // Looked up again: the key, its person or their rights may have changed since the connection opened.
                let identity = try await identity.asyncMap { try await identities.current($0) } ?? nil
                switch request {
                case .shell:
                    await say(try await greeting(identity) + " You've authenticated, but Cairn does not provide shell access.", on: channel.channel)
                    status = 1
                case .exec(let command, let gitProtocol):
                    status = await run(
                        command, identity: identity, gitProtocol: gitProtocol, input: ChannelBytes(inbound: inbound), output: outbound, channel: channel.channel)
                }
                try await channel.channel.triggerUserOutboundEvent(SSHChannelRequestEvent.ExitStatus(exitStatus: status)).get()
            }
        } catch {
            logger.debug("sshd.channel_ended", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `command` for `identity`; the exit status for the client.
    func run(
        _ command: String, identity: SSHIdentity?, gitProtocol: String?, input: ChannelBytes, output: NIOAsyncChannelOutboundWriter<SSHChannelData>,
        channel: any Channel
    ) async -> Int {
        do {
            let parsed = try GitCommand(command)
            guard let identity else { throw GitCommand.Refusal(message: "Permission denied (publickey): this key is no longer known") }
            let (repository, permission, actor) = try await authorise(parsed, identity: identity)
            switch parsed.service {
            case .lfsAuthenticate:
                guard let actor else { throw GitCommand.Refusal(message: "A deploy key reaches LFS objects of its own repository only") }
                try await write(ByteBuffer(bytes: try lfsAnswer(repository, write: parsed.operation == "upload", actor: actor)), to: channel)
                return 0
            case .receivePack, .uploadPack:
                // Counted as the gateway counts a signed-in person, or (a deploy key elsewhere) by its key.
                let visitor = visitors.id(user: actor?.id, address: "ssh-key:\(identity.key.fingerprint)", userAgent: nil)
                try await relay(
                    parsed.service, repository: repository, permission: permission, actor: actor, visitor: visitor, gitProtocol: gitProtocol, input: input,
                    output: output, channel: channel)
                return 0
            }
        } catch let refusal as GitCommand.Refusal {
            await say(refusal.message, on: channel)
            return 1
        } catch {
            logger.warning("sshd.session_failed", metadata: ["error": "\(error)"])
            await say("The session failed: a store is not answering just now; try again", on: channel)
            return 1
        }
    }

    /// The repository, the caller's permission on it, and the person who acts (none for a
    /// deploy key outside its repository); refused as over HTTP (a repository the caller may
    /// not read does not exist for them).
    private func authorise(_ command: GitCommand, identity: SSHIdentity) async throws -> (Repository, Permission, User?) {
        let notFound = GitCommand.Refusal(message: "Repository not found: \(command.owner)/\(command.name)")
        guard let repository = try await repositories.find(owner: command.owner, name: command.name) else { throw notFound }
        let (permission, actor) = try await permission(of: identity, on: repository)
        guard permission >= .read else { throw notFound }
        let writes = command.service == .receivePack || command.operation == "upload"
        guard writes else { return (repository, permission, actor) }
        guard permission >= .write else {
            throw GitCommand.Refusal(message: identity.user == nil
                ? "This deploy key is read-only: it cannot push to \(repository.fullName)"
                : "You may read \(repository.fullName) but not push to it: ask an admin for write access")
        }
        if let message = await readOnly.message() { throw GitCommand.Refusal(message: message) }
        return (repository, permission, actor)
    }

    /// A person's permission; a deploy key's as a grant for its repository acting for whoever
    /// added it (as a repository token acts for its maker), and elsewhere nobody's.
    private func permission(of identity: SSHIdentity, on repository: Repository) async throws -> (Permission, User?) {
        if let user = identity.user { return (try await repositories.permission(of: user, on: repository), user) }
        guard let repositoryID = identity.key.repositoryID, let adder = identity.adder else { return (.none, nil) }
        let granted: Permission = identity.key.readOnly ? .read : .write
        let permission = try await repositories.permission(ofGrant: granted, madeFor: repositoryID, actingFor: adder, on: repository)
        return (permission, repositoryID == repository.id ? adder : nil)
    }

    /// Relays the session to the repository store, git's output written back as it comes.
    private func relay(
        _ service: GitCommand.Service, repository: Repository, permission: Permission, actor: User?, visitor: String, gitProtocol: String?, input: ChannelBytes,
        output: NIOAsyncChannelOutboundWriter<SSHChannelData>, channel: any Channel
    ) async throws {
        var headers = HTTPHeaders()
        if let gitProtocol { headers.add(name: "Git-Protocol", value: gitProtocol) }
        headers.add(name: ForwardedHeader.visitor, value: visitor)
        // A push carries the branch rules, which the repository store's pre-receive hook enforces.
        if service == .receivePack, let rules = try await protections.inForce(repositoryID: repository.id, adminExempt: permission >= .admin, statuses: statuses) {
            headers.add(name: ForwardedHeader.branchRules, value: try rules.headerValue())
        }
        // Bytes in either direction keep the session alive; git sends keep-alives while it
        // works, so a session silent both ways for `idleLimit` is wedged and is ended.
        let (activity, headersSent, idleLimit) = (input.activity, headers, idleLimit)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let response = try await repostore.send(
                    .POST, "/repos/\(repository.id)/session/\(service.rawValue)", headers: headersSent, body: .stream(input, length: .unknown),
                    user: actor?.id, timeout: .hours(6))
                guard response.status == .ok else {
                    throw GitCommand.Refusal(message: "The repository store answered \(response.status.code) for \(repository.fullName); try again")
                }
                // The channel's writer waits only while the channel is not writable (the client's
                // window is full), and hands the event loop what piled up meanwhile in one go.
                for try await chunk in response.body {
                    activity.touch()
                    try await output.write(SSHChannelData(type: .channel, data: .byteBuffer(chunk)))
                }
                // Once an empty write is through, so is everything before it: the exit status follows the data.
                try await write(ByteBuffer(), to: channel)
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(5))
                    if activity.idle > idleLimit { throw GitCommand.Refusal(message: "Nothing moved for \(idleLimit): the session was ended") }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// git-lfs's answer to `git-lfs-authenticate`, as GitHub gives it: where the LFS API is,
    /// and a header with a short-lived credential for this repository.
    private func lfsAnswer(_ repository: Repository, write: Bool, actor: User) throws -> Data {
        let credential = LFSCredential(repository: repository.id, write: write, actingFor: actor.id)
        let answer = LFSAuthentication(
            href: "\(publicURL)/\(repository.fullName).git/info/lfs", header: ["Authorization": "Bearer \(try credential.secret(signer: signer))"],
            expiresIn: Int(LFSCredential.lifetime.components.seconds))
        return try JSONEncoder().encode(answer)
    }

    /// "Hi ada!", or for a deploy key "Hi ada/tool!" (its repository).
    private func greeting(_ identity: SSHIdentity?) async throws -> String {
        if let user = identity?.user { return "Hi \(user.username)!" }
        if let id = identity?.key.repositoryID, let repository = try await repositories.find(id: id) { return "Hi \(repository.fullName)!" }
        return "Hi!"
    }

    private func write(_ bytes: ByteBuffer, to channel: any Channel) async throws {
        try await channel.writeAndFlush(SSHChannelData(type: .channel, data: .byteBuffer(bytes))).get()
    }

    /// A line on the client's standard error, which git shows as `fatal: …` context.
    private func say(_ message: String, on channel: any Channel) async {
        try? await channel.writeAndFlush(SSHChannelData(type: .stdErr, data: .byteBuffer(ByteBuffer(string: "cairn: \(message)\r\n")))).get()
    }
}

/// The answer of `git-lfs-authenticate`.
struct LFSAuthentication: Encodable {
    let href: String
    let header: [String: String]
    let expiresIn: Int

    enum CodingKeys: String, CodingKey {
        case href, header
        case expiresIn = "expires_in"
    }
}

/// A session channel's standard input as bytes, for the repository store's request body:
/// read only as the body is sent, so the SSH window holds the client back.
struct ChannelBytes: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let inbound: NIOAsyncChannelInboundStream<SSHChannelData>
    /// Touched by every chunk read.
    let activity = SessionActivity()

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: NIOAsyncChannelInboundStream<SSHChannelData>.AsyncIterator
        let activity: SessionActivity

        mutating func next() async throws -> ByteBuffer? {
            while let message = try await base.next() {
                activity.touch()
                // Extended data (standard error) from a client means nothing to git.
                if case .channel = message.type, case .byteBuffer(let bytes) = message.data { return bytes }
            }
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: inbound.makeAsyncIterator(), activity: activity) }
}

/// When a session last moved bytes.
final class SessionActivity: Sendable {
    private let last = NIOLockedValueBox(ContinuousClock.now)

    func touch() { last.withLockedValue { $0 = .now } }

    /// How long since the last bytes.
    var idle: Duration { ContinuousClock.now - last.withLockedValue { $0 } }
}
