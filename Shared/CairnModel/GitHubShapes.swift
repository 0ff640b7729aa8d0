public import Foundation

/// GitHub's JSON dialect: snake_case keys, ISO-8601 dates without fractions. The API,
/// webhook payloads and everything else Cairn shapes after GitHub use it.
public enum GitHubJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

/// A user as GitHub's API shows one.
public struct APIUser: Encodable, Sendable {
    public let login: String
    public let id: Int64
    public let type = "User"
    public let siteAdmin: Bool
    public let url: String
    public let htmlUrl: String
    public let reposUrl: String
    public let createdAt: Date
    public let email: String?

    public init(_ user: User, baseURL: String, showEmail: Bool = false) {
        login = user.username
        id = user.id
        siteAdmin = user.isAdmin
        url = "\(baseURL)/api/v3/users/\(user.username)"
        htmlUrl = "\(baseURL)/\(user.username)"
        reposUrl = "\(baseURL)/api/v3/users/\(user.username)/repos"
        createdAt = user.createdAt
        email = showEmail ? user.email : nil
    }
}

/// A repository as GitHub's API shows one.
public struct APIRepository: Encodable, Sendable {
    public struct Owner: Encodable, Sendable {
        public let login: String
        public let id: Int64
        public let type = "User"
        public let url: String
        public let htmlUrl: String
    }

    public struct Permissions: Encodable, Sendable {
        public init(admin: Bool, push: Bool, pull: Bool) {
            self.admin = admin
            self.push = push
            self.pull = pull
        }

        public let admin: Bool
        public let push: Bool
        public let pull: Bool
    }

    public let id: Int64
    public let name: String
    public let fullName: String
    public let owner: Owner
    public let `private`: Bool
    public let visibility: String
    public let description: String?
    public let fork: Bool
    /// The repository it was forked from, when the caller may see it.
    public let parent: Parent?
    public let url: String
    public let htmlUrl: String
    public let cloneUrl: String
    public let gitUrl: String
    public let defaultBranch: String
    public let createdAt: Date
    public let updatedAt: Date
    public let pushedAt: Date?
    public let permissions: Permissions?

    /// A fork's parent, named and linked.
    public struct Parent: Encodable, Sendable {
        public let id: Int64
        public let fullName: String
        public let url: String
        public let htmlUrl: String
    }

    /// `showsParent`: whether the caller may see the parent (always for a public one).
    public init(_ repository: Repository, baseURL: String, permission: Permission?, showsParent: Bool = false) {
        fork = repository.parentID != nil
        if let parentID = repository.parentID, let name = repository.parentFullName, showsParent || !repository.parentIsPrivate {
            parent = Parent(id: parentID, fullName: name, url: "\(baseURL)/api/v3/repos/\(name)", htmlUrl: "\(baseURL)/\(name)")
        } else {
            parent = nil
        }
        id = repository.id
        name = repository.name
        fullName = repository.fullName
        owner = Owner(
            login: repository.ownerName, id: repository.ownerID, url: "\(baseURL)/api/v3/users/\(repository.ownerName)",
            htmlUrl: "\(baseURL)/\(repository.ownerName)")
        `private` = repository.isPrivate
        visibility = repository.isPrivate ? "private" : "public"
        description = repository.description.isEmpty ? nil : repository.description
        url = "\(baseURL)/api/v3/repos/\(repository.fullName)"
        htmlUrl = "\(baseURL)/\(repository.fullName)"
        cloneUrl = "\(baseURL)/\(repository.fullName).git"
        gitUrl = cloneUrl
        defaultBranch = repository.defaultBranch ?? "main"
        createdAt = repository.createdAt
        updatedAt = repository.updatedAt
        pushedAt = repository.pushedAt
        permissions = permission.map { Permissions(admin: $0 >= .admin, push: $0 >= .write, pull: $0 >= .read) }
    }
}
