import CairnModel
import Hummingbird

/// Decides what a caller may do with a repository named `owner/name`, hiding private
/// repositories: a caller who may not read one is told it does not exist, exactly as for a
/// name that was never taken. For git, anonymous callers are asked to authenticate instead
/// (401), so that git prompts for credentials.
struct RepositoryAccess: Sendable {
    let repositories: RepositoryStore

    /// The repository and the caller's permission, if the caller has at least `needed`; a
    /// reader without it is told `refusal` (403), or asked to sign in when anonymous.
    func require(_ needed: Permission, owner: String, name: String, caller: Caller, challengeAnonymous: Bool = false, refusal: String? = nil) async throws -> (Repository, Permission) {
        let hidden: GatewayError = caller.user == nil && challengeAnonymous ? .authenticationRequired : .notFound
        guard let repository = try await repositories.find(owner: owner, name: name) else { throw hidden }
        var permission = try await repositories.permission(of: caller.user, on: repository)
        if repository.isPrivate && !caller.credentialAllows(.read) { permission = .none }
        guard permission >= .read else { throw hidden }
        guard permission >= needed else {
            if caller.user == nil { throw GatewayError.authenticationRequired }
            throw GatewayError.forbidden(refusal ?? "You need \(needed.name) permission on \(repository.fullName)")
        }
        guard caller.credentialAllows(needed) else {
            throw GatewayError.forbidden("This token's scopes do not allow \(needed.name) access")
        }
        return (repository, permission)
    }
}
