import CairnModel
import CairnProtocol
import Foundation
import Hummingbird

/// GitHub's SSH key API: a person's keys (`/user/keys`: list, add, show, delete; changes take
/// a password, a session or a token with the `admin` scope), anyone's public keys
/// (`/users/{user}/keys`), and a repository's deploy keys for its admins
/// (`/repos/{o}/{r}/keys`, read-only unless `read_only` is false).
struct SSHKeyAPIController: Sendable {
    let access: RepositoryAccess
    let keys: SSHKeyStore
    let users: UserStore
    let baseURL: String

    struct NewKey: Decodable {
        let title: String?
        let key: String
        let readOnly: Bool?
    }

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let api = router.group("/api/v3")
        api.get("/user/keys") { request, context in
            let user = try Self.signedIn(context)
            return try APIEncoding.response(try await keys.list(.user(user.id)).map { APIKey($0, baseURL: baseURL) })
        }
        api.post("/user/keys") { request, context in
            let user = try Self.signedIn(context, changing: true)
            let added = try await add(try await APIEncoding.decode(NewKey.self, from: request, context: context), to: .user(user.id), by: user)
            return try APIEncoding.response(APIKey(added, baseURL: baseURL), status: .created)
        }
        api.get("/user/keys/:id") { _, context in
            let user = try Self.signedIn(context)
            return try APIEncoding.response(APIKey(try await find(context, of: .user(user.id)), baseURL: baseURL))
        }
        api.delete("/user/keys/:id") { _, context in
            let user = try Self.signedIn(context, changing: true)
            guard let id = Int64(try context.parameters.require("id")), try await keys.delete(id: id, of: .user(user.id)) else { throw GatewayError.notFound }
            return Response(status: .noContent)
        }
        api.get("/users/:user/keys") { _, context in
            guard let user = try await users.find(username: try context.parameters.require("user")) else { throw GatewayError.notFound }
            return try APIEncoding.response(try await keys.list(.user(user.id)).map { APIPublicKey(id: $0.id, key: $0.publicKey) })
        }
        let admins = api.group("/repos/:owner/:repo").repository(.admin, access)
        admins.get("keys") { _, context in
            let repository = try context.resolvedRepository().repository
            let list = try await keys.list(.repository(repository.id))
            let adders = Dictionary(uniqueKeysWithValues: try await users.find(ids: Array(Set(list.compactMap(\.addedBy)))).map { ($0.id, $0.username) })
            return try APIEncoding.response(list.map { APIKey($0, baseURL: baseURL, repository: repository, addedBy: $0.addedBy.flatMap { adders[$0] }) })
        }
        admins.post("keys") { request, context in
            let repository = try context.resolvedRepository().repository
            guard let user = context.caller.user else { throw GatewayError.authenticationRequired }
            let added = try await add(try await APIEncoding.decode(NewKey.self, from: request, context: context), to: .repository(repository.id), by: user)
            return try APIEncoding.response(APIKey(added, baseURL: baseURL, repository: repository, addedBy: user.username), status: .created)
        }
        admins.get("keys/:id") { _, context in
            let repository = try context.resolvedRepository().repository
            let key = try await find(context, of: .repository(repository.id))
            let adder = try await key.addedBy.asyncMap { try await users.find(id: $0)?.username } ?? nil
            return try APIEncoding.response(APIKey(key, baseURL: baseURL, repository: repository, addedBy: adder))
        }
        admins.delete("keys/:id") { _, context in
            let repository = try context.resolvedRepository().repository
            guard let id = Int64(try context.parameters.require("id")), try await keys.delete(id: id, of: .repository(repository.id)) else { throw GatewayError.notFound }
            return Response(status: .noContent)
        }
    }

    /// The signed-in person; `changing` keys takes more than a read or write token.
    static func signedIn(_ context: GatewayContext, changing: Bool = false) throws -> User {
        guard let user = context.caller.user else { throw GatewayError.authenticationRequired }
        if changing && !context.caller.credentialAllows(.admin) { throw GatewayError.forbidden("Changing SSH keys takes a token with the admin scope") }
        return user
    }

    private func add(_ input: NewKey, to owner: SSHKeyStore.Owner, by user: User) async throws -> SSHKey {
        let key: SSHPublicKey
        do { key = try SSHPublicKey(input.key) } catch { throw GatewayError.invalid(error.description) }
        let title = input.title ?? SSHKeyStore.defaultTitle(for: key)
        do {
            // `read_only` is a deploy key's (GitHub's default there: true); a person's key is theirs in full.
            let readOnly = if case .repository = owner { input.readOnly ?? true } else { false }
            return try await keys.add(key, title: title, to: owner, readOnly: readOnly, addedBy: user.id)
        } catch let error as ModelError {
            throw GatewayError(error)
        }
    }

    private func find(_ context: GatewayContext, of owner: SSHKeyStore.Owner) async throws -> SSHKey {
        guard let id = Int64(try context.parameters.require("id")), let key = try await keys.find(id: id, of: owner) else { throw GatewayError.notFound }
        return key
    }
}

/// A key as GitHub's API shows it (a deploy key with `added_by` and `read_only`).
struct APIKey: Encodable {
    let id: Int64
    let key: String
    let url: String
    let title: String
    let verified = true
    let createdAt: Date
    let readOnly: Bool
    let lastUsed: Date?
    let addedBy: String?
    let fingerprint: String

    init(_ key: SSHKey, baseURL: String, repository: Repository? = nil, addedBy: String? = nil) {
        id = key.id
        self.key = key.publicKey
        url = repository.map { "\(baseURL)/api/v3/repos/\($0.fullName)/keys/\(key.id)" } ?? "\(baseURL)/api/v3/user/keys/\(key.id)"
        title = key.title
        createdAt = key.createdAt
        readOnly = key.repositoryID != nil && key.readOnly
        lastUsed = key.lastUsedAt
        self.addedBy = addedBy
        fingerprint = key.fingerprint
    }

    enum CodingKeys: String, CodingKey { case id, key, url, title, verified, createdAt, readOnly, lastUsed, addedBy, fingerprint }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(key, forKey: .key)
        try container.encode(url, forKey: .url)
        try container.encode(title, forKey: .title)
        try container.encode(verified, forKey: .verified)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(readOnly, forKey: .readOnly)
        try container.encode(lastUsed, forKey: .lastUsed)
        try container.encodeIfPresent(addedBy, forKey: .addedBy)
        try container.encode(fingerprint, forKey: .fingerprint)
    }
}

/// A public key as `/users/{user}/keys` lists it.
struct APIPublicKey: Encodable {
    let id: Int64
    let key: String
}
