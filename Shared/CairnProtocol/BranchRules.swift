public import Foundation

/// A protected branch rule: what may happen to the branches whose name `pattern` matches.
public struct BranchRule: Codable, Sendable, Hashable {
    /// A branch name, or a pattern where `*` matches any characters but `/`, `**` any
    /// characters at all and `?` one character but `/` (GitHub's fnmatch rules).
    public var pattern: String
    /// Approving reviews a pull request needs; nil when changes need no pull request.
    public var requiredApprovals: Int?
    /// Whether the code owners of each path a pull request changes must approve it.
    public var requireCodeOwnerReviews: Bool
    /// Status contexts whose newest status must be success on the commit the branch gets.
    public var requiredContexts: [String]
    /// The only users who may push or merge (by id); nil: anyone who may write.
    public var pushers: [Int64]?
    public var allowForcePushes: Bool
    public var allowDeletions: Bool
    /// Whether a pull request's head must hold the base branch's tip (GitHub's `strict`).
    public var requireUpToDate: Bool
    /// Whether the rule binds the repository's admins too (else they are not held by it).
    public var enforceAdmins: Bool

    public init(
        pattern: String, requiredApprovals: Int? = nil, requireCodeOwnerReviews: Bool = false, requiredContexts: [String] = [],
        pushers: [Int64]? = nil, allowForcePushes: Bool = false, allowDeletions: Bool = false, requireUpToDate: Bool = false, enforceAdmins: Bool = true
    ) {
        self.requireUpToDate = requireUpToDate
        self.enforceAdmins = enforceAdmins
        self.pattern = pattern
        self.requiredApprovals = requiredApprovals
        self.requireCodeOwnerReviews = requireCodeOwnerReviews
        self.requiredContexts = requiredContexts
        self.pushers = pushers
        self.allowForcePushes = allowForcePushes
        self.allowDeletions = allowDeletions
    }

    public var requiresPullRequest: Bool { requiredApprovals != nil || requireCodeOwnerReviews }

    /// Whether `branch` (a name, not `refs/heads/…`) is one this rule protects.
    public func matches(_ branch: String) -> Bool { BranchPattern.matches(pattern, branch) }

    /// The most approvals a rule may ask for, and the most contexts and pushers it may name.
    public static let maxApprovals = 10
    public static let maxContexts = 50
    public static let maxPushers = 100

    /// Why the rule cannot be kept; nil when it can.
    public var problem: String? {
        if let problem = BranchPattern.problem(pattern) { return "pattern: \(problem)" }
        if let count = requiredApprovals, !(0...Self.maxApprovals).contains(count) {
            return "required_approving_review_count: must be 0 to \(Self.maxApprovals)"
        }
        if requiredContexts.count > Self.maxContexts { return "contexts: at most \(Self.maxContexts)" }
        if let context = requiredContexts.first(where: { !(1...255).contains($0.unicodeScalars.count) || $0.contains("\0") }) {
            return "contexts: \"\(context.prefix(40))\" must be 1 to 255 characters, without NUL"
        }
        if let pushers, pushers.count > Self.maxPushers { return "restrictions: at most \(Self.maxPushers) users" }
        return nil
    }
}

/// Matching branch names against a rule's pattern.
///
/// Written by hand: a branch pattern is GitHub's small fnmatch dialect (`*`, `**`, `?`), not a
/// regular expression, and matching it by dynamic programming is linear in pattern × name
/// (both at most 255 bytes), so no pushed name can make it backtrack.
public enum BranchPattern {
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern.utf8), n = Array(name.utf8)
        // reachable[j]: the pattern read so far can match the first j bytes of the name.
        var reachable = [Bool](repeating: false, count: n.count + 1)
        reachable[0] = true
        var i = 0
        while i < p.count {
            var next = [Bool](repeating: false, count: n.count + 1)
            if p[i] == UInt8(ascii: "*") {
                let crossesSlash = i + 1 < p.count && p[i + 1] == UInt8(ascii: "*")
                var carried = false
                for j in 0...n.count {
                    if reachable[j] { carried = true }
                    next[j] = carried
                    if j < n.count && n[j] == UInt8(ascii: "/") && !crossesSlash { carried = false }
                }
                i += crossesSlash ? 2 : 1
            } else {
                for j in 0..<n.count where reachable[j] {
                    let fits = p[i] == UInt8(ascii: "?") ? n[j] != UInt8(ascii: "/") : p[i] == n[j]
                    if fits { next[j + 1] = true }
                }
                i += 1
            }
            reachable = next
        }
        return reachable[n.count]
    }

    /// Why `pattern` cannot be a rule's pattern; nil when it can.
    public static func problem(_ pattern: String) -> String? {
        guard (1...255).contains(pattern.utf8.count) else { return "must be 1 to 255 bytes" }
        // A pattern is a branch name with wildcards: the same checks, with the wildcards as letters.
        let asName = pattern.replacingOccurrences(of: "*", with: "x").replacingOccurrences(of: "?", with: "x")
        return GitInput.revisionProblem(asName)
    }
}

/// The rules of a repository as the repository store needs them to guard a change of refs,
/// with the commits each rule's required checks have passed on (by pattern).
public struct BranchRulesInForce: Codable, Sendable {
    public var rules: [BranchRule]
    public var passingCommits: [String: [String]]

    public init(rules: [BranchRule], passingCommits: [String: [String]] = [:]) {
        self.rules = rules
        self.passingCommits = passingCommits
    }

    /// The rules as the `X-Cairn-Branch-Rules` header carries them: JSON in base64.
    public func headerValue() throws -> String {
        try JSONEncoder().encode(self).base64EncodedString()
    }
}

/// What the gateway found of a pull request being merged, for the rules of its base branch.
public struct PullMergeFacts: Codable, Sendable {
    public var approvals: Int
    public var codeOwnersApproved: Bool
    /// Contexts whose newest status on the head commit is success.
    public var passingContexts: [String]
    /// Whether the head holds the base branch's tip.
    public var upToDate: Bool

    public init(approvals: Int, codeOwnersApproved: Bool, passingContexts: [String], upToDate: Bool = true) {
        self.upToDate = upToDate
        self.approvals = approvals
        self.codeOwnersApproved = codeOwnersApproved
        self.passingContexts = passingContexts
    }
}

/// Decides whether a ref change is allowed by the rules in force: in the repository store's
/// `pre-receive` hook for pushes (`merge` nil) and before its merges and branch deletions.
public struct BranchGuard: Sendable {
    public let rules: BranchRulesInForce
    public let pusherID: Int64?

    public init(rules: BranchRulesInForce, pusherID: Int64?) {
        self.rules = rules
        self.pusherID = pusherID
    }

    /// What a merge into `branch` by the pusher still needs, by every rule matching it (empty:
    /// nothing): what the merge button and the merge API say.
    public func unmet(mergingInto branch: String, _ facts: PullMergeFacts) -> [String] {
        var needs: [String] = []
        for rule in rules.rules where rule.matches(branch) {
            if let pushers = rule.pushers, !(pusherID.map(pushers.contains) ?? false) { needs.append("only the people \(rule.pattern) names may merge to it") }
            needs += Self.needs(rule, facts)
        }
        return needs
    }

    /// What `rule` asks of a pull request that `facts` does not show.
    static func needs(_ rule: BranchRule, _ facts: PullMergeFacts) -> [String] {
        var needs: [String] = []
        if let needed = rule.requiredApprovals, facts.approvals < needed {
            needs.append("\(needed) approving review\(needed == 1 ? " is" : "s are") required (it has \(facts.approvals))")
        }
        if rule.requireCodeOwnerReviews && !facts.codeOwnersApproved { needs.append("the code owners of the files it changes must approve it") }
        let missing = rule.requiredContexts.filter { !facts.passingContexts.contains($0) }
        if !missing.isEmpty { needs.append("required status checks have not passed: \(missing.joined(separator: ", "))") }
        if rule.requireUpToDate && !facts.upToDate { needs.append("the head branch must hold the newest commit of the base branch: update it first") }
        return needs
    }

    /// Why `ref` may not go from `old` to `new` (all zeros: none), or nil when it may.
    /// `isAncestor(a, b)` says whether `a` is in `b`'s history (a fast-forward).
    public func refusal(
        ref: String, old: String, new: String, merge: PullMergeFacts? = nil, isAncestor: (String, String) async throws -> Bool
    ) async throws -> String? {
        guard ref.hasPrefix("refs/heads/") else { return nil }
        let branch = String(ref.dropFirst("refs/heads/".count))
        for rule in rules.rules where rule.matches(branch) {
            if let reason = try await refusal(rule, branch: branch, old: old, new: new, merge: merge, isAncestor: isAncestor) {
                return "\(branch) is protected (\(rule.pattern)): \(reason)"
            }
        }
        return nil
    }

    private func refusal(
        _ rule: BranchRule, branch: String, old: String, new: String, merge: PullMergeFacts?, isAncestor: (String, String) async throws -> Bool
    ) async throws -> String? {
        if let pushers = rule.pushers, !(pusherID.map(pushers.contains) ?? false) {
            return "only the people it names may push or merge to it"
        }
        if new == RefUpdate.zero {
            return rule.allowDeletions ? nil : "it cannot be deleted"
        }
        if old != RefUpdate.zero, !rule.allowForcePushes, !(try await isAncestor(old, new)) {
            return "it cannot be force-pushed (\(old.prefix(10)) is not in the history of \(new.prefix(10)))"
        }
        if let merge { return Self.needs(rule, merge).first }
        if rule.requiresPullRequest { return "changes must go through a pull request" }
        if !rule.requiredContexts.isEmpty && !(rules.passingCommits[rule.pattern]?.contains(new) ?? false) {
            return "required status checks have not passed on \(new.prefix(10)): \(rule.requiredContexts.joined(separator: ", "))"
        }
        return nil
    }
}
