import CairnDatabase
public import CairnProtocol
public import Foundation
public import Logging
public import PostgresNIO

/// Protected branch rules (`BranchRule`) in the main database, one per repository and pattern.
public struct BranchProtectionStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    /// The most rules one repository may have.
    public static let maxRules = 100

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private static let columns = """
        pattern, required_approvals, require_code_owner_reviews, required_contexts, pushers, allow_force_pushes, allow_deletions, require_up_to_date, enforce_admins
        """

    /// The repository's rules, by pattern.
    public func list(repositoryID: Int64) async throws -> [BranchRule] {
        try await Self.collect(client.run(
            "SELECT \(unescaped: Self.columns) FROM branch_protections WHERE repository_id = \(repositoryID) ORDER BY pattern", logger: logger))
    }

    /// The rule with exactly this pattern.
    public func find(repositoryID: Int64, pattern: String) async throws -> BranchRule? {
        try await Self.collect(client.run(
            "SELECT \(unescaped: Self.columns) FROM branch_protections WHERE repository_id = \(repositoryID) AND pattern = \(pattern)", logger: logger)).first
    }

    /// Creates or replaces the rule of `rule.pattern` (checked with `problem` first); false
    /// when the repository already has `maxRules` other rules.
    public func put(repositoryID: Int64, _ rule: BranchRule) async throws -> Bool {
        // One writer per repository at a time, so racing additions cannot pass the limit.
        try await client.withUnwrappedTransaction(logger: logger) { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended('branch_protections', \(repositoryID)))", logger: logger).count()
            return try await insert(repositoryID: repositoryID, rule, on: connection)
        }
    }

    private func insert(repositoryID: Int64, _ rule: BranchRule, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.run("""
            INSERT INTO branch_protections AS b (
                repository_id, pattern, required_approvals, require_code_owner_reviews, required_contexts, pushers, allow_force_pushes, allow_deletions,
                require_up_to_date, enforce_admins)
            SELECT \(repositoryID), \(rule.pattern), \(rule.requiredApprovals), \(rule.requireCodeOwnerReviews), \(rule.requiredContexts), \(rule.pushers),
                   \(rule.allowForcePushes), \(rule.allowDeletions), \(rule.requireUpToDate), \(rule.enforceAdmins)
            WHERE (SELECT count(*) FROM branch_protections WHERE repository_id = \(repositoryID) AND pattern <> \(rule.pattern)) < \(Self.maxRules)
            ON CONFLICT (repository_id, pattern) DO UPDATE SET
                required_approvals = EXCLUDED.required_approvals, require_code_owner_reviews = EXCLUDED.require_code_owner_reviews,
                required_contexts = EXCLUDED.required_contexts, pushers = EXCLUDED.pushers,
                allow_force_pushes = EXCLUDED.allow_force_pushes, allow_deletions = EXCLUDED.allow_deletions,
                require_up_to_date = EXCLUDED.require_up_to_date, enforce_admins = EXCLUDED.enforce_admins, updated_at = now()
            RETURNING 1
            """, logger: logger)
        return try await rows.count() == 1
    }

    /// The repository's rules that hold a caller, with the commits their required checks
    /// passed on: what a push or merge carries to the repository store. `adminExempt`: the
    /// caller's own credential is an admin's (never a repository token's), so rules that do
    /// not enforce admins do not hold it. Nil when no rule holds.
    public func inForce(repositoryID: Int64, adminExempt: Bool, statuses: CommitStatusStore) async throws -> BranchRulesInForce? {
        var list = try await list(repositoryID: repositoryID)
        if adminExempt { list.removeAll { !$0.enforceAdmins } }
        guard !list.isEmpty else { return nil }
        // Each set of contexts is asked once; the commits sent are bounded (they travel in a
        // header and the hook's environment): the newest ones, where CI just reported.
        var passing: [String: [String]] = [:]
        var bySet: [[String]: [String]] = [:]
        let perSet = max(5, Self.maxPassingCommits / max(1, Set(list.map { $0.requiredContexts.sorted() }).count))
        for rule in list where !rule.requiredContexts.isEmpty {
            let key = rule.requiredContexts.sorted()
            if bySet[key] == nil { bySet[key] = try await statuses.passing(repositoryID: repositoryID, contexts: key, limit: perSet) }
            passing[rule.pattern] = bySet[key]
        }
        return BranchRulesInForce(rules: list, passingCommits: passing)
    }

    /// The most commits with passing checks sent with one push, over all rules.
    public static let maxPassingCommits = 300

    /// Removes the rule of `pattern`; false when there was none.
    public func delete(repositoryID: Int64, pattern: String) async throws -> Bool {
        try await client.run(
            "DELETE FROM branch_protections WHERE repository_id = \(repositoryID) AND pattern = \(pattern) RETURNING 1", logger: logger
        ).count() == 1
    }

    private static func collect(_ rows: PostgresRowSequence) async throws -> [BranchRule] {
        var rules: [BranchRule] = []
        for try await r in rows.decode((String, Int?, Bool, [String], [Int64]?, Bool, Bool, Bool, Bool).self) {
            rules.append(BranchRule(
                pattern: r.0, requiredApprovals: r.1, requireCodeOwnerReviews: r.2, requiredContexts: r.3, pushers: r.4,
                allowForcePushes: r.5, allowDeletions: r.6, requireUpToDate: r.7, enforceAdmins: r.8))
        }
        return rules
    }
}
