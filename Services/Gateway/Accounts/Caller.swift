import CairnModel

/// Who is making a request: a user (or nobody), and what their credential allows.
struct Caller: Sendable {
    /// The signed-in person; nil for anonymous callers and for repository tokens, which
    /// reach nothing of an account.
    let user: User?
    /// The token's scopes; nil when the user signed in with a password or a session,
    /// which allows everything the user may do.
    let scopes: Set<TokenScope>?
    /// A repository token's grant: the one repository it reaches, how far, and whom it acts for.
    var grant: RepositoryGrant? = nil

    static let anonymous = Caller(user: nil, scopes: nil)

    /// Who acts in `repository`: the signed-in person, or the maker of a repository token
    /// made for that repository (in any other, a token's caller is nobody).
    func actor(in repository: Repository) -> User? {
        user ?? grant.flatMap { $0.repositoryID == repository.id ? $0.actingFor : nil }
    }

    /// Whether the request carried credentials (a password, a personal or a repository token).
    var hasCredentials: Bool { user != nil || grant != nil }

    /// Whether the credential allows `permission` (the user's own rights are checked apart).
    func credentialAllows(_ permission: Permission) -> Bool {
        if let grant { return permission <= grant.permission }
        guard let scopes else { return true }
        switch permission {
        case .none: return true
        case .read: return !scopes.isDisjoint(with: [.repoRead, .repoWrite, .admin])
        case .write: return !scopes.isDisjoint(with: [.repoWrite, .admin])
        // Deleting a repository, changing its visibility, hooks or collaborators: never repo:write alone.
        case .admin: return scopes.contains(.admin)
        }
    }
}

/// What a repository token allows: `permission` (read or write) on one repository, acting
/// for the admin who made it (and never beyond that admin's own permission there).
struct RepositoryGrant: Sendable {
    let repositoryID: Int64
    let permission: Permission
    let actingFor: User
}
