public import Foundation

/// A repository's webhook: where Cairn posts events, and with which secret it signs them.
public struct Webhook: Sendable, Hashable {
    public let id: Int64
    public let repositoryID: Int64
    public var url: String
    /// Signs every body (`X-Hub-Signature-256`); empty means unsigned.
    public var secret: String
    public var contentType: ContentType
    /// The events it receives (`knownEvents`).
    public var events: [String]
    public var active: Bool
    public var createdAt: Date
    public var updatedAt: Date

    /// How the payload is put in the body: raw JSON, or GitHub's form with a `payload` field.
    public enum ContentType: String, Sendable, Hashable, CaseIterable {
        case json, form

        /// The `Content-Type` header for this kind of body.
        public var mediaType: String { self == .json ? "application/json" : "application/x-www-form-urlencoded" }
    }

    /// The events a hook may subscribe to.
    public static let knownEvents: Set<String> = ["push", "pull_request", "pull_request_review", "pull_request_review_comment", "issue_comment", "status"]
}

/// One payload for one hook, with the outcome of its latest try.
public struct WebhookDelivery: Sendable, Hashable {
    public let id: Int64
    /// The delivery id receivers see (`X-GitHub-Delivery`).
    public let guid: UUID
    public let hookID: Int64
    public var event: String
    public var payload: String
    public var redelivery: Bool
    public var createdAt: Date
    public var status: Status
    public var attempts: Int
    public var statusCode: Int?
    public var durationMilliseconds: Int?
    public var deliveredAt: Date?
    public var requestHeaders: [String: String]
    public var responseHeaders: [String: String]
    public var responseBody: String?
    public var error: String?

    public enum Status: String, Sendable, Hashable {
        case pending, ok, failed
    }

    /// How the hook stands after this delivery: `pending` (not tried yet), `active` (it
    /// succeeded), `retrying` (failed, tries left) or `failing` (no tries left).
    public var hookState: String {
        switch status {
        case .ok: "active"
        case .failed: "failing"
        case .pending: attempts == 0 ? "pending" : "retrying"
        }
    }
}

/// What one try of a delivery brought back.
public struct WebhookAttempt: Sendable, Hashable {
    public var attempt: Int
    public var startedAt: Date
    public var durationMilliseconds: Int
    /// The receiver's status, or nil when no answer came (refused, timed out, unreachable).
    public var statusCode: Int?
    public var requestHeaders: [String: String]
    public var responseHeaders: [String: String]
    /// The first bytes of the reply, as text.
    public var responseBody: String?
    /// Why the try failed without an answer, or what was wrong with it.
    public var error: String?

    public init(attempt: Int, startedAt: Date, durationMilliseconds: Int, statusCode: Int?, requestHeaders: [String: String], responseHeaders: [String: String], responseBody: String?, error: String?) {
        self.attempt = attempt
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
        self.statusCode = statusCode
        self.requestHeaders = requestHeaders
        self.responseHeaders = responseHeaders
        self.responseBody = responseBody
        self.error = error
    }

    /// A 2xx answer.
    public var succeeded: Bool { statusCode.map { (200..<300).contains($0) } ?? false }
}
