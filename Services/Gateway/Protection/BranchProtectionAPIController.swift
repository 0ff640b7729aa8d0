import CairnModel
import CairnProtocol
import Foundation
import Hummingbird

/// GitHub's branch protection API, `GET`/`PUT`/`DELETE /api/v3/repos/{o}/{r}/branches/{branch}/protection`,
/// for the repository's admins. `{branch}` is a branch name or a pattern (`release%2F*`).
struct BranchProtectionAPIController: Sendable {
    let access: RepositoryAccess
    let protections: BranchProtectionStore
    let users: UserStore
    let baseURL: String

    /// GitHub's body: the four sections are present (null turns one off).
    struct Protection: Decodable {
        struct StatusChecks: Decodable {
            let strict: Bool?
            let contexts: [String]?
            let checks: [Check]?
            struct Check: Decodable { let context: String }
        }
        struct Reviews: Decodable {
            let requiredApprovingReviewCount: Int?
            let requireCodeOwnerReviews: Bool?
        }
        struct Restrictions: Decodable {
            let users: [String]?
        }
        let requiredStatusChecks: StatusChecks?
        let enforceAdmins: Bool?
        let requiredPullRequestReviews: Reviews?
        let restrictions: Restrictions?
        let allowForcePushes: Bool?
        let allowDeletions: Bool?
    }

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let admins = router.group("/api/v3/repos/:owner/:repo").repository(.admin, access)
        admins.get("branches/:branch/protection") { _, context in
            let (repository, pattern) = try Self.target(context)
            guard let rule = try await protections.find(repositoryID: repository.id, pattern: pattern) else { throw GatewayError.notFound }
            return try APIEncoding.response(try await shape(rule, repository))
        }
        admins.put("branches/:branch/protection") { request, context in
            let (repository, pattern) = try Self.target(context)
            _ = try PullRequestAPIController.writer(context)
            let input = try await APIEncoding.decode(Protection.self, from: request, context: context)
            let rule = try await rule(pattern, input)
            if let problem = rule.problem { throw GatewayError.invalid(problem) }
            guard try await protections.put(repositoryID: repository.id, rule) else {
                throw GatewayError.invalid("A repository may have at most \(BranchProtectionStore.maxRules) branch rules")
            }
            return try APIEncoding.response(try await shape(rule, repository))
        }
        admins.delete("branches/:branch/protection") { _, context in
            let (repository, pattern) = try Self.target(context)
            _ = try PullRequestAPIController.writer(context)
            guard try await protections.delete(repositoryID: repository.id, pattern: pattern) else { throw GatewayError.notFound }
            return Response(status: .noContent)
        }
    }

    /// The repository and the branch or pattern the path names (percent-decoded: `release%2F*`).
    static func target(_ context: GatewayContext) throws -> (Repository, String) {
        let raw = try context.parameters.require("branch")
        let pattern = raw.removingPercentEncoding ?? raw
        if let problem = BranchPattern.problem(pattern) { throw GatewayError.invalid("branch: \(problem)") }
        return (try context.resolvedRepository().repository, pattern)
    }

    /// The rule `input` describes; users named in restrictions must exist.
    private func rule(_ pattern: String, _ input: Protection) async throws -> BranchRule {
        var pushers: [Int64]?
        if let names = input.restrictions?.users {
            guard names.count <= BranchRule.maxPushers else { throw GatewayError.invalid("restrictions: at most \(BranchRule.maxPushers) users") }
            pushers = []
            for name in names {
                guard let user = try await users.find(username: name) else { throw GatewayError.invalid("restrictions: no user \(name.prefix(40))") }
                pushers?.append(user.id)
            }
        }
        let checks = input.requiredStatusChecks
        let contexts = (checks?.contexts ?? []) + (checks?.checks ?? []).map(\.context)
        let reviews = input.requiredPullRequestReviews
        return BranchRule(
            pattern: pattern, requiredApprovals: reviews.map { $0.requiredApprovingReviewCount ?? 1 },
            requireCodeOwnerReviews: reviews?.requireCodeOwnerReviews ?? false, requiredContexts: contexts.reduce(into: []) { kept, context in if !kept.contains(context) { kept.append(context) } },
            pushers: pushers, allowForcePushes: input.allowForcePushes ?? false, allowDeletions: input.allowDeletions ?? false,
            requireUpToDate: checks?.strict ?? false, enforceAdmins: input.enforceAdmins ?? false)
    }

    private func shape(_ rule: BranchRule, _ repository: Repository) async throws -> APIBranchProtection {
        let pushers = try await users.find(ids: rule.pushers ?? [])
        let url = "\(baseURL)/api/v3/repos/\(repository.fullName)/branches/\(rule.pattern.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? rule.pattern)/protection"
        return APIBranchProtection(rule, url: url, pushers: pushers.map { APIUser($0, baseURL: baseURL) })
    }
}

/// A branch rule as GitHub's API shows one.
struct APIBranchProtection: Encodable {
    struct Enabled: Encodable { let enabled: Bool }
    struct EnabledAt: Encodable {
        let url: String
        let enabled: Bool
    }
    struct StatusChecks: Encodable {
        struct Check: Encodable {
            let context: String
            let appId: Int?
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(context, forKey: .context)
                try container.encode(appId, forKey: .appId)
            }
            enum CodingKeys: String, CodingKey { case context, appId }
        }
        let url: String
        let strict: Bool
        let contexts: [String]
        let checks: [Check]
        let contextsUrl: String
    }
    struct Reviews: Encodable {
        let url: String
        let dismissStaleReviews = false
        let requireCodeOwnerReviews: Bool
        let requiredApprovingReviewCount: Int
        let requireLastPushApproval = false
    }
    struct Restrictions: Encodable {
        let url: String
        let usersUrl: String
        let users: [APIUser]
        let teams: [String] = []
        let apps: [String] = []
    }

    let url: String
    let requiredStatusChecks: StatusChecks?
    let requiredPullRequestReviews: Reviews?
    let restrictions: Restrictions?
    let enforceAdmins: EnabledAt
    let allowForcePushes: Enabled
    let allowDeletions: Enabled

    init(_ rule: BranchRule, url: String, pushers: [APIUser]) {
        self.url = url
        requiredStatusChecks = rule.requiredContexts.isEmpty && !rule.requireUpToDate ? nil : StatusChecks(
            url: "\(url)/required_status_checks", strict: rule.requireUpToDate, contexts: rule.requiredContexts,
            checks: rule.requiredContexts.map { StatusChecks.Check(context: $0, appId: nil) }, contextsUrl: "\(url)/required_status_checks/contexts")
        requiredPullRequestReviews = rule.requiresPullRequest ? Reviews(
            url: "\(url)/required_pull_request_reviews", requireCodeOwnerReviews: rule.requireCodeOwnerReviews,
            requiredApprovingReviewCount: rule.requiredApprovals ?? 0) : nil
        restrictions = rule.pushers.map { _ in Restrictions(url: "\(url)/restrictions", usersUrl: "\(url)/restrictions/users", users: pushers) }
        enforceAdmins = EnabledAt(url: "\(url)/enforce_admins", enabled: rule.enforceAdmins)
        allowForcePushes = Enabled(enabled: rule.allowForcePushes)
        allowDeletions = Enabled(enabled: rule.allowDeletions)
    }

    // Sections turned off are sent as null, as GitHub does.
    enum CodingKeys: String, CodingKey {
        case url, requiredStatusChecks, requiredPullRequestReviews, restrictions, enforceAdmins, allowForcePushes, allowDeletions
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(url, forKey: .url)
        try container.encode(requiredStatusChecks, forKey: .requiredStatusChecks)
        try container.encode(requiredPullRequestReviews, forKey: .requiredPullRequestReviews)
        try container.encode(restrictions, forKey: .restrictions)
        try container.encode(enforceAdmins, forKey: .enforceAdmins)
        try container.encode(allowForcePushes, forKey: .allowForcePushes)
        try container.encode(allowDeletions, forKey: .allowDeletions)
    }
}
