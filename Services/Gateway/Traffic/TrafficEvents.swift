import CairnProtocol
import CairnRedis
import CairnSigning
import Foundation
import Hummingbird

/// The gateway's analytics events: `repo.view` for repository pages, and the visitor id
/// that the repository store puts on `repo.clone`.
///
/// Visitor ids come from `VisitorIDs` (CairnSigning), which `cairn-sshd` shares.
struct TrafficEvents: Sendable {
    let publisher: EventPublisher
    private let visitors: VisitorIDs

    init(publisher: EventPublisher, signingKey: String) {
        self.publisher = publisher
        self.visitors = VisitorIDs(signingKey: signingKey)
    }

    /// The visitor id for today of a signed-in user, or of an address and user agent.
    func visitorID(user: Int64?, address: String, userAgent: String?, now: Date = Date()) -> String {
        visitors.id(user: user, address: address, userAgent: userAgent, now: now)
    }

    func visitorID(_ request: Request, _ context: GatewayContext, user: Int64?) -> String {
        visitorID(user: user, address: context.clientAddress(request), userAgent: request.headers[.userAgent])
    }

    /// Records that a repository page was seen at `path` (the request path, no query); the
    /// path and title are cut to the sizes the stream keeps (512 and 256 bytes).
    func view(repository: Int64, visitor: String, actor: Int64?, path: String, title: String) {
        publisher.emit(EventEnvelope(
            type: "repo.view", repoID: repository, actor: actor, visitor: visitor,
            data: .object(["path": .string(path.prefix(utf8Bytes: 512)), "title": .string(title.prefix(utf8Bytes: 256))])))
    }
}

extension TrafficEvents {
    /// Records a download of a repository's file or archive, by its file name.
    func download(repository: Int64, visitor: String, actor: Int64?, name: String) {
        publisher.emit(EventEnvelope(
            type: "repo.download", repoID: repository, actor: actor, visitor: visitor,
            data: .object(["name": .string(name.prefix(utf8Bytes: 512))])))
    }
}

extension TrafficEvents {
    /// What happened to a pull request, as the stream counts it per repository and day.
    enum PullRequestAction: String { case opened, merged }

    /// Records that a pull request into `repository` was opened or merged by `actor`.
    func pullRequest(_ action: PullRequestAction, repository: Int64, actor: Int64, number: Int64) {
        publisher.emit(EventEnvelope(type: "pull.\(action.rawValue)", repoID: repository, actor: actor, data: .object(["number": .number(Double(number))])))
    }
}
