import CairnModel
import Foundation

/// A user as GitHub's API shows one.
struct APIUser: Encodable {
    let login: String
    let id: Int64
    let type = "User"
    let siteAdmin: Bool
    let url: String
    let htmlUrl: String
    let reposUrl: String
    let createdAt: Date
    let email: String?

    init(_ user: User, baseURL: String, showEmail: Bool = false) {
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
struct APIRepository: Encodable {
    struct Owner: Encodable {
        let login: String
        let id: Int64
        let type = "User"
        let url: String
        let htmlUrl: String
    }

    struct Permissions: Encodable {
        let admin: Bool
        let push: Bool
        let pull: Bool
    }

    let id: Int64
    let name: String
    let fullName: String
    let owner: Owner
    let `private`: Bool
    let visibility: String
    let description: String?
    let fork = false
    let url: String
    let htmlUrl: String
    let cloneUrl: String
    let gitUrl: String
    let defaultBranch: String
    let createdAt: Date
    let updatedAt: Date
    let pushedAt: Date?
    let permissions: Permissions?

    init(_ repository: Repository, baseURL: String, permission: Permission?) {
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
