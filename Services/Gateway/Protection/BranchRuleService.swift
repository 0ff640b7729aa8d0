import CairnModel
import CairnProtocol
import Foundation

/// Protected branches at the gateway: the rules in force for a push or merge (sent to the
/// repository store, which enforces them), and what a pull request has for them (approvals,
/// code owners, passing checks).
struct BranchRuleService: Sendable {
    let rules: BranchProtectionStore
    let statuses: CommitStatusStore
    let pulls: PullRequestStore
    let repositories: RepositoryStore
    let users: UserStore
    let content: RepositoryContent

    /// The repository's rules that hold the caller, with the commits their checks passed on
    /// (see `BranchProtectionStore.inForce`); nil when none hold.
    func inForce(_ repository: Repository, adminExempt: Bool) async throws -> BranchRulesInForce? {
        try await rules.inForce(repositoryID: repository.id, adminExempt: adminExempt, statuses: statuses)
    }

    /// What `pull` has for the rules of its base branch: approvals by people who may push
    /// (each reviewer's newest approving or change-requesting review, the author's never),
    /// whether the code owners of every changed path approved, and the contexts whose newest
    /// status on the head is success.
    func facts(_ pull: PullRequest, base: Repository, rules: BranchRulesInForce) async throws -> PullMergeFacts {
        let matching = rules.rules.filter { $0.matches(pull.baseRef) }
        var newest: [Int64: PullReview] = [:]
        for review in try await pulls.reviews(pullRequestID: pull.id).sorted(by: { $0.id < $1.id })
        where review.state != .commented && review.authorID != pull.authorID {
            newest[review.authorID] = review
        }
        var approvers: Set<String> = []
        for review in newest.values where review.state == .approved {
            guard let user = try await users.find(id: review.authorID), try await repositories.permission(of: user, on: base) >= .write else { continue }
            approvers.insert(user.username.lowercased())
        }
        var ownersApproved = true
        if matching.contains(where: \.requireCodeOwnerReviews), GitInput.isObjectID(pull.baseSHA), GitInput.isObjectID(pull.headSHA),
           let owners = try await content.codeOwners(base, at: pull.baseSHA) {
            let changed = try await content.compare(base, base: pull.baseSHA, head: pull.headSHA).files
            let paths = changed.flatMap { [$0.path] + ($0.previousPath.map { [$0] } ?? []) }
            ownersApproved = owners.owners(of: paths).allSatisfy { names in names.isEmpty || names.contains { approvers.contains($0.lowercased()) } }
        }
        let contexts = Set(matching.flatMap(\.requiredContexts))
        var passing: [String] = []
        if !contexts.isEmpty, GitInput.isObjectID(pull.headSHA) {
            let latest = try await statuses.latest(repositoryID: base.id, shas: [pull.headSHA])[pull.headSHA] ?? []
            passing = latest.filter { $0.state == .success && contexts.contains($0.context) }.map(\.context)
        }
        var upToDate = true
        if matching.contains(where: \.requireUpToDate), GitInput.isObjectID(pull.baseSHA), GitInput.isObjectID(pull.headSHA) {
            upToDate = try await content.compare(base, base: pull.baseSHA, head: pull.headSHA).behindBy == 0
        }
        return PullMergeFacts(approvals: approvers.count, codeOwnersApproved: ownersApproved, passingContexts: passing.sorted(), upToDate: upToDate)
    }

    /// What merging `pull` by `user` still needs (empty: nothing), with the rules and facts
    /// that said so (nil when the repository has no rules).
    func mergeNeeds(
        _ pull: PullRequest, base: Repository, by user: User?, adminExempt: Bool
    ) async throws -> (needs: [String], rules: BranchRulesInForce?, facts: PullMergeFacts?) {
        guard let inForce = try await inForce(base, adminExempt: adminExempt), inForce.rules.contains(where: { $0.matches(pull.baseRef) }) else { return ([], nil, nil) }
        let facts = try await facts(pull, base: base, rules: inForce)
        return (BranchGuard(rules: inForce, pusherID: user?.id).unmet(mergingInto: pull.baseRef, facts), inForce, facts)
    }
}
