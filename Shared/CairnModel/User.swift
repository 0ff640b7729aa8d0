public import Foundation

/// A person with an account.
public struct User: Sendable, Hashable, Codable {
    public let id: Int64
    public var username: String
    public var email: String
    public var isAdmin: Bool
    /// Bumped when the password changes or on "sign out everywhere": older sessions die.
    public var sessionVersion: Int
    public var createdAt: Date
    /// Bumped when one of the user's repositories appears, goes or changes in a list: the
    /// cached fragments of the user's pages are keyed by it.
    public var cacheVersion: Int64

    public init(id: Int64, username: String, email: String, isAdmin: Bool, sessionVersion: Int, createdAt: Date, cacheVersion: Int64 = 1) {
        self.id = id
        self.username = username
        self.email = email
        self.isAdmin = isAdmin
        self.sessionVersion = sessionVersion
        self.createdAt = createdAt
        self.cacheVersion = cacheVersion
    }
}

/// What a caller may do with personal access tokens.
public enum TokenScope: String, Sendable, Codable, CaseIterable, Comparable {
    case repoRead = "repo:read"
    case repoWrite = "repo:write"
    case admin

    public static func < (lhs: TokenScope, rhs: TokenScope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Errors of the account and repository records, each with what was wrong.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// A name, email or other field breaks its rule.
    case invalid(field: String, reason: String)
    /// The name (or email) is taken.
    case taken(field: String, value: String)
    case notFound(String)
    /// Someone else changed the record since the form being saved was shown.
    case stale(String)

    public var description: String {
        switch self {
        case .invalid(let field, let reason): "\(field): \(reason)"
        case .taken(let field, let value): "\(field) \"\(value)\" is already taken"
        case .notFound(let what): "\(what) not found"
        case .stale(let what): "\(what) changed since you opened it"
        }
    }
}
