public import Foundation

/// A repository's record. Its files live in the repository store under its id, so renames
/// and transfers touch only this row.
public struct Repository: Sendable, Hashable {
    public let id: Int64
    public let ownerID: Int64
    public var ownerName: String
    public var name: String
    public var description: String
    public var isPrivate: Bool
    public var defaultBranch: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var pushedAt: Date?
    /// Bumped whenever something a page shows changes; keys cached fragments.
    public var cacheVersion: Int64 = 1
    /// Bumped by every change of settings; a settings form carries it, so a save made from
    /// an older page is refused instead of overwriting someone else's change.
    public var settingsVersion: Int64 = 1
    /// The repository this one was forked from, if any.
    public var parentID: Int64? = nil
    /// The parent's `owner/name` while it is not deleted. Show it only to those who may read
    /// the parent when it is private (`parentIsPrivate`): its name is not the fork's to tell.
    public var parentFullName: String? = nil
    public var parentIsPrivate = false
    /// Bumped by every commit status reported; keys the cached pages that show statuses.
    public var statusVersion: Int64 = 1

    /// `owner/name`.
    public var fullName: String { "\(ownerName)/\(name)" }
}

/// How much a person may do with a repository; each level includes the ones before it.
public enum Permission: Int, Sendable, Comparable, Codable {
    case none = 0, read, write, admin

    public init?(name: String) {
        switch name {
        case "read", "pull": self = .read
        case "write", "push": self = .write
        case "admin": self = .admin
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .none: "none"
        case .read: "read"
        case .write: "write"
        case .admin: "admin"
        }
    }

    public static func < (lhs: Permission, rhs: Permission) -> Bool { lhs.rawValue < rhs.rawValue }
}
