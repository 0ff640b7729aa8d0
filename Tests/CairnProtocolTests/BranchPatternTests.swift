import CairnProtocol
import Testing

/// Branch rule patterns: GitHub's fnmatch dialect, matched in time linear in pattern × name.
@Suite(.timeLimit(.minutes(1))) struct BranchPatternTests {
    @Test func test_starStopsAtSlash_doubleStarCrossesIt_questionMarkIsOneCharacter() {
        let cases: [(String, String, Bool)] = [
            ("main", "main", true), ("main", "mainline", false), ("main", "xmain", false),
            ("release/*", "release/v1", true), ("release/*", "release/", true), ("release/*", "release/v1/hotfix", false),
            ("release/**", "release/v1/hotfix", true), ("**", "any/thing/at/all", true), ("*", "feature/x", false),
            ("v?", "v1", true), ("v?", "v10", false), ("a?b", "a/b", false), ("*-stable", "4.2-stable", true),
            ("feature/*/done", "feature/x/done", true), ("feature/*/done", "feature/x/y/done", false),
            ("*", "", true), ("**/main", "team/a/main", true), ("**/main", "main", false),
        ]
        for (pattern, name, expected) in cases {
            #expect(BranchPattern.matches(pattern, name) == expected, "\(pattern) ~ \(name)")
        }
    }

    @Test func test_aPathologicalPatternAnswersAtOnce() {
        let pattern = String(repeating: "*a", count: 120) + "b"
        let name = String(repeating: "a", count: 255)
        #expect(!BranchPattern.matches(pattern, name))
    }

    @Test func test_badPatternsAndRulesAreRefusedWithTheReason() {
        #expect(BranchPattern.problem("release/*") == nil)
        #expect(BranchPattern.problem("") != nil)
        #expect(BranchPattern.problem("a..b") != nil)
        #expect(BranchPattern.problem(String(repeating: "x", count: 256)) != nil)
        #expect(BranchRule(pattern: "main", requiredApprovals: 11).problem?.contains("required_approving_review_count") == true)
        #expect(BranchRule(pattern: "main", requiredApprovals: -1).problem != nil)
        #expect(BranchRule(pattern: "main", requiredContexts: ["a\u{0}b"]).problem?.contains("contexts") == true)
        #expect(BranchRule(pattern: "main", requiredApprovals: 2, requiredContexts: ["ci"]).problem == nil)
    }

    @Test func test_theGuardSaysEverythingAMergeStillNeeds() async throws {
        let rule = BranchRule(pattern: "main", requiredApprovals: 2, requireCodeOwnerReviews: true, requiredContexts: ["ci", "lint"], pushers: [1], requireUpToDate: true)
        let branchGuard = BranchGuard(rules: BranchRulesInForce(rules: [rule]), pusherID: 2)
        let needs = branchGuard.unmet(mergingInto: "main", PullMergeFacts(approvals: 1, codeOwnersApproved: false, passingContexts: ["ci"], upToDate: false))
        #expect(needs.count == 5, "\(needs)")
        #expect(needs.contains("required status checks have not passed: lint"))
        let ready = BranchGuard(rules: BranchRulesInForce(rules: [rule]), pusherID: 1)
        #expect(ready.unmet(mergingInto: "main", PullMergeFacts(approvals: 2, codeOwnersApproved: true, passingContexts: ["ci", "lint"])).isEmpty)
        #expect(ready.unmet(mergingInto: "other", PullMergeFacts(approvals: 0, codeOwnersApproved: false, passingContexts: [])).isEmpty)
        // Pushes: a tag is never held; a new branch needs no ancestry.
        let refusal = try await ready.refusal(ref: "refs/tags/main", old: RefUpdate.zero, new: String(repeating: "a", count: 40)) { _, _ in false }
        #expect(refusal == nil)
    }
}
