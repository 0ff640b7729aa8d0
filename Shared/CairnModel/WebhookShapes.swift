public import CairnProtocol
public import Foundation

/// A hook as GitHub's API shows one. The secret is never shown, only that there is one.
public struct APIHook: Encodable, Sendable {
    public struct Config: Encodable, Sendable {
        public let url: String
        public let contentType: String
        public let insecureSsl = "0"
        public let secret: String?
    }

    public struct LastResponse: Encodable, Sendable {
        public let code: Int?
        public let status: String
        public let message: String?
    }

    public let type = "Repository"
    public let id: Int64
    public let name = "web"
    public let active: Bool
    public let events: [String]
    public let config: Config
    public let createdAt: Date
    public let updatedAt: Date
    public let url: String
    public let pingUrl: String
    public let deliveriesUrl: String
    public let lastResponse: LastResponse

    public init(_ hook: Webhook, repository: Repository, baseURL: String, lastDelivery: WebhookDelivery?) {
        id = hook.id
        active = hook.active
        events = hook.events
        config = Config(url: hook.url, contentType: hook.contentType.rawValue, secret: hook.secret.isEmpty ? nil : "********")
        createdAt = hook.createdAt
        updatedAt = hook.updatedAt
        url = "\(baseURL)/api/v3/repos/\(repository.fullName)/hooks/\(hook.id)"
        pingUrl = url + "/pings"
        deliveriesUrl = url + "/deliveries"
        if let lastDelivery {
            // GitHub knows `active`, `failing`, `pending` and `unused`; a delivery being retried is failing.
            let status = lastDelivery.hookState == "retrying" ? "failing" : lastDelivery.hookState
            lastResponse = LastResponse(code: lastDelivery.statusCode, status: status, message: lastDelivery.error ?? (lastDelivery.status == .ok ? "OK" : nil))
        } else {
            lastResponse = LastResponse(code: nil, status: "unused", message: nil)
        }
    }
}

/// GitHub's `push` event, so receivers written for GitHub read it unchanged.
public struct PushEventPayload: Encodable, Sendable {
    public struct Person: Encodable, Sendable {
        public let name: String
        public let email: String
        public let username: String?
    }

    public struct Commit: Encodable, Sendable {
        public let id: String
        public let treeId: String
        public let distinct = true
        public let message: String
        public let timestamp: String
        public let url: String
        public let author: Person
        public let committer: Person
        public let added: [String]
        public let removed: [String]
        public let modified: [String]

        public init(_ pushed: GitPushedCommit, repositoryURL: String) {
            let commit = pushed.commit
            id = commit.sha
            treeId = commit.tree
            message = commit.message.trimmingCharacters(in: .newlines)
            timestamp = commit.committer.date
            url = "\(repositoryURL)/commit/\(commit.sha)"
            author = Person(name: commit.author.name, email: commit.author.email, username: nil)
            committer = Person(name: commit.committer.name, email: commit.committer.email, username: nil)
            added = pushed.added
            removed = pushed.removed
            modified = pushed.modified
        }
    }

    public let ref: String
    public let before: String
    public let after: String
    public let created: Bool
    public let deleted: Bool
    public let forced: Bool
    public let compare: String
    public let commits: [Commit]
    public let headCommit: Commit?
    public let repository: APIRepository
    public let pusher: Person
    public let sender: APIUser

    public init(update: RefUpdate, pushed: GitPushedCommits, repository: Repository, pusher: User, baseURL: String) {
        let repositoryURL = "\(baseURL)/\(repository.fullName)"
        ref = update.ref
        before = update.old
        after = update.new
        created = update.old == RefUpdate.zero
        deleted = update.new == RefUpdate.zero
        forced = pushed.forced
        commits = pushed.commits.map { Commit($0, repositoryURL: repositoryURL) }
        headCommit = commits.last
        compare = deleted ? repositoryURL : "\(repositoryURL)/commits/\(update.new)"
        self.repository = APIRepository(repository, baseURL: baseURL, permission: nil)
        self.pusher = Person(name: pusher.username, email: pusher.email, username: pusher.username)
        sender = APIUser(pusher, baseURL: baseURL)
    }
}

/// GitHub's `ping` event, sent when a hook is created or pinged.
public struct PingEventPayload: Encodable, Sendable {
    public let zen = "Keep it logically awesome."
    public let hookId: Int64
    public let hook: APIHook
    public let repository: APIRepository
    public let sender: APIUser

    public init(hook: Webhook, repository: Repository, sender: User, baseURL: String) {
        hookId = hook.id
        self.hook = APIHook(hook, repository: repository, baseURL: baseURL, lastDelivery: nil)
        self.repository = APIRepository(repository, baseURL: baseURL, permission: nil)
        self.sender = APIUser(sender, baseURL: baseURL)
    }
}

/// A delivery as GitHub's API lists one; with `detail`, also the request and response.
public struct APIDelivery: Encodable, Sendable {
    public struct Message: Encodable, Sendable {
        public let headers: [String: String]
        public let payload: JSONValue?
    }

    public let id: Int64
    public let guid: String
    public let deliveredAt: Date?
    public let redelivery: Bool
    public let duration: Double?
    public let status: String
    public let statusCode: Int
    public let event: String
    public let action: String? = nil
    public let attempts: Int
    public let repositoryId: Int64
    public let url: String?
    public let request: Message?
    public let response: Message?

    public init(_ delivery: WebhookDelivery, hook: Webhook, detail: Bool) {
        id = delivery.id
        guid = delivery.guid.uuidString.lowercased()
        deliveredAt = delivery.deliveredAt
        redelivery = delivery.redelivery
        duration = delivery.durationMilliseconds.map { Double($0) / 1000 }
        status = delivery.error ?? (delivery.status == .ok ? "OK" : delivery.statusCode.map { "HTTP \($0)" } ?? delivery.status.rawValue)
        statusCode = delivery.statusCode ?? 0
        event = delivery.event
        attempts = delivery.attempts
        repositoryId = hook.repositoryID
        url = detail ? hook.url : nil
        if detail {
            request = Message(headers: delivery.requestHeaders, payload: try? CairnJSON.decode(JSONValue.self, from: Data(delivery.payload.utf8)))
            response = Message(headers: delivery.responseHeaders, payload: delivery.responseBody.map(JSONValue.string))
        } else {
            request = nil
            response = nil
        }
    }
}
