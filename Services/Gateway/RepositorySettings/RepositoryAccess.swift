import CairnDatabase
import CairnModel
import Hummingbird

/// Decides what a caller may do with a repository named `owner/name`, hiding private
/// repositories: a caller who may not read one is told it does not exist, exactly as for a
/// name that was never taken. For git, anonymous callers are asked to authenticate instead
/// (401), so that git prompts for credentials.
struct RepositoryAccess: Sendable {
    let repositories: RepositoryStore
    /// Where anonymous callers' lookups come from, when the gateway keeps them.
    var directory: RepositoryDirectory? = nil

    /// The repository and the caller's permission, if the caller has at least `needed`; a
    /// reader without it is told `refusal` (403), or asked to sign in when anonymous.
    /// `viewing`: the request is a page view (GET or HEAD), which may take the repository
    /// from the directory whoever the visitor is.
    func require(_ needed: Permission, owner: String, name: String, caller: Caller, challengeAnonymous: Bool = false, refusal: String? = nil, viewing: Bool = false) async throws -> (Repository, Permission) {
        let hidden: GatewayError = !caller.hasCredentials && challengeAnonymous ? .authenticationRequired : .notFound
        guard let repository = try await find(owner: owner, name: name, fromDirectory: viewing || !caller.hasCredentials) else { throw hidden }
        var permission = try await self.permission(of: caller, on: repository)
        if repository.isPrivate && !caller.credentialAllows(.read) { permission = .none }
        guard permission >= .read else { throw hidden }
        guard permission >= needed else {
            if !caller.hasCredentials { throw GatewayError.authenticationRequired }
            throw GatewayError.forbidden(refusal ?? "You need \(needed.name) permission on \(repository.fullName)")
        }
        guard caller.credentialAllows(needed) else {
            throw GatewayError.forbidden("This token's scopes do not allow \(needed.name) access")
        }
        return (repository, permission)
    }

    /// The repository `owner/name`: from the directory (see `RepositoryDirectory`) when
    /// `fromDirectory` and the request reads from replicas if it can (its caller did not
    /// write lately); from the database otherwise.
    private func find(owner: String, name: String, fromDirectory: Bool) async throws -> Repository? {
        if let directory, fromDirectory, DatabaseRouting.current?.readsPrimary != true {
            return try await directory.find(owner: owner, name: name, in: repositories)
        }
        return try await repositories.find(owner: owner, name: name)
    }

    /// What `caller` may do with `repository`: a repository token reaches its own repository
    /// (as far as both it and its maker may), and any other only as an anonymous caller would.
    func permission(of caller: Caller, on repository: Repository) async throws -> Permission {
        guard let grant = caller.grant else { return try await repositories.permission(of: caller.user, on: repository) }
        return try await repositories.permission(ofGrant: grant.permission, madeFor: grant.repositoryID, actingFor: grant.actingFor, on: repository)
    }
}
