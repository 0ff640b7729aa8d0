public import Foundation

/// The daemons of Cairn, with the port each listens on unless configured otherwise.
public enum Daemon: String, Sendable, CaseIterable, Codable {
    case gateway, repostore, blobstore, worker, stream, sshd

    /// The executable's name, e.g. `cairn-gateway`.
    public var executable: String { "cairn-\(rawValue)" }

    /// The default port of the daemon's HTTP listener (health, readiness, metrics; `cairn-sshd`
    /// serves SSH on a port of its own, `sshd.sshPort`), all below 32768 so they never collide with client ports.
    public var defaultPort: Int {
        switch self {
        case .gateway: 8080
        case .repostore: 8081
        case .blobstore: 8082
        case .worker: 8083
        case .stream: 8084
        case .sshd: 8085
        }
    }

    /// Only the gateway faces users; the others bind loopback and want signed requests.
    public var isInternal: Bool { self != .gateway }
}

/// The body of `/readyz`: whether each store the daemon needs answers.
public struct ReadinessReport: Sendable, Codable, Hashable {
    public var daemon: String
    public var ready: Bool
    /// One entry per dependency: `ok`, or what went wrong.
    public var checks: [String: String]

    public init(daemon: String, ready: Bool, checks: [String: String]) {
        self.daemon = daemon
        self.ready = ready
        self.checks = checks
    }
}

/// Header names of Cairn's internal requests.
public enum InternalHeader {
    /// Carries the signed token over method, path and time.
    public static let signature = "X-Cairn-Signature"
    /// Echoes the request id on every response.
    public static let requestID = "X-Request-Id"
}

/// The task queues of DESIGN.md.
public enum QueueName: String, Sendable, CaseIterable, Codable {
    case `default`, webhooks, maintenance, archives
}

/// One ref changed by a push, as git's hooks report it (all zeros for a created or deleted ref).
public struct RefUpdate: Sendable, Codable, Hashable {
    public static let zero = String(repeating: "0", count: 40)

    public var old: String
    public var new: String
    public var ref: String

    public init(old: String, new: String, ref: String) {
        self.old = old
        self.new = new
        self.ref = ref
    }

    /// Reads one `<old> <new> <ref>` line; nil when the line is not one.
    public init?(hookLine line: some StringProtocol) {
        let fields = line.split(separator: " ")
        guard fields.count == 3, fields[0].count >= 40, fields[1].count >= 40 else { return nil }
        self.init(old: String(fields[0]), new: String(fields[1]), ref: String(fields[2]))
    }
}

/// Headers the gateway adds when it hands a request to an internal daemon.
public enum ForwardedHeader {
    /// The id of the signed-in user on whose behalf the request is made, if any.
    public static let user = "X-Cairn-User"
    /// The analytics visitor id of the person behind the request (see `EventEnvelope.visitor`).
    public static let visitor = "X-Cairn-Visitor"
    /// On a push: the repository's branch rules (`BranchRulesInForce`), JSON in base64.
    public static let branchRules = "X-Cairn-Branch-Rules"
}

/// The repository store's answer to `GET /repos`: every repository on disk.
public struct RepositoryListing: Codable, Sendable {
    public let ids: [Int64]
    public init(ids: [Int64]) { self.ids = ids }
}

/// The repository store's answer to `GET /spool`: accepted pushes whose `push` task has not
/// reached Redis yet (they are relayed when it answers again).
public struct PushSpoolBacklog: Codable, Sendable, Equatable {
    public let waiting: Int
    /// When the oldest waiting push was accepted.
    public let oldest: Date?

    public init(waiting: Int, oldest: Date?) {
        self.waiting = waiting
        self.oldest = oldest
    }
}
