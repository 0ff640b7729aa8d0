public import CairnProtocol
public import Foundation

/// The kinds of mail Cairn sends to account holders; each can be switched off by the
/// unsubscribe link it carries.
public enum MailKind: String, Sendable, CaseIterable, Codable {
    case welcome
    case passwordChanged = "password_changed"
    case push
    case pullRequest = "pull_request"

    /// What the unsubscribe page calls this kind of mail.
    public var summary: String {
        switch self {
        case .welcome: "welcome emails"
        case .passwordChanged: "password-change notices"
        case .push: "emails about pushes to repositories you watch"
        case .pullRequest: "emails about pull requests you take part in or watch"
        }
    }
}

/// What an unsubscribe link carries, signed: whose mail, and which kind to stop.
public struct UnsubscribeToken: Codable, Sendable, Equatable {
    public let user: Int64
    public let kind: MailKind

    public init(user: Int64, kind: MailKind) {
        self.user = user
        self.kind = kind
    }

    /// The signing salt of unsubscribe links; nothing else is signed with it.
    public static let salt = "cairn.unsubscribe"
}

/// The `mail.send` task that asks the worker to write one account mail.
public enum AccountMail {
    /// A task to send `kind` to `userID`; `details` carry what the mail mentions (a repository
    /// id, the commits of a push).
    public static func task(_ kind: MailKind, to userID: Int64, details: [String: JSONValue] = [:], id: String = UUID().uuidString.lowercased()) -> TaskEnvelope {
        var args = details
        args["kind"] = .string(kind.rawValue)
        args["user_id"] = .number(Double(userID))
        return TaskEnvelope(kind: "mail.send", args: .object(args), id: id)
    }
}
