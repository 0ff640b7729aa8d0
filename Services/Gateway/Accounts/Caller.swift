import CairnModel

/// Who is making a request: a user (or nobody), and what their credential allows.
struct Caller: Sendable {
    let user: User?
    /// The token's scopes; nil when the user signed in with a password or a session,
    /// which allows everything the user may do.
    let scopes: Set<TokenScope>?

    static let anonymous = Caller(user: nil, scopes: nil)

    /// Whether the credential allows `permission` (the user's own rights are checked apart).
    func credentialAllows(_ permission: Permission) -> Bool {
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
