import CairnModel
import CairnProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// A repository's protected branches in its settings, for admins: the rules, and a form to
/// add, edit (`?pattern=`) and delete one. Every form carries the CSRF token.
struct BranchRulePagesController: Sendable {
    let pages: Pages
    let repositoryPages: RepositoryPages
    let protections: BranchProtectionStore
    let users: UserStore

    func addRoutes(to routes: RouterGroup<GatewayContext>) {
        let router = repositoryPages.routes(routes, requiring: .admin, refusal: "Only the repository's admins can change its settings.")
        router.get("/:owner/:repo/settings/branches") { request, context in
            let page = try await repositoryPages.load(request, context)
            let asked = request.uri.queryParameters["pattern"].map(String.init)
            let rule = try await asked.asyncMap { try await protections.find(repositoryID: page.repository.id, pattern: $0) } ?? nil
            return try await list(page, form: try await rule.asyncMap(formValues) ?? RuleForm())
        }
        router.post("/:owner/:repo/settings/branches") { request, context in
            let page = try await repositoryPages.load(request, context)
            let form = try await pages.form(request, page.visitor)
            let values = RuleForm(form)
            do {
                let rule = try await rule(values)
                if let problem = rule.problem { throw GatewayError.invalid(problem) }
                guard try await protections.put(repositoryID: page.repository.id, rule) else {
                    throw GatewayError.invalid("A repository may have at most \(BranchProtectionStore.maxRules) branch rules")
                }
            } catch GatewayError.invalid(let message) {
                return try await list(page, form: values, error: message, status: .unprocessableContent)
            }
            return pages.redirect("/\(page.repository.fullName)/settings/branches")
        }
        router.post("/:owner/:repo/settings/branches/delete") { request, context in
            let page = try await repositoryPages.load(request, context)
            let form = try await pages.form(request, page.visitor)
            _ = try await protections.delete(repositoryID: page.repository.id, pattern: form.text("pattern"))
            return pages.redirect("/\(page.repository.fullName)/settings/branches")
        }
    }

    /// The rule a form describes; the people it names must exist.
    private func rule(_ form: RuleForm) async throws -> BranchRule {
        guard let approvals = Int(form.approvals.isEmpty ? "0" : form.approvals) else { throw GatewayError.invalid("approvals: must be a number from 0 to 10") }
        var pushers: [Int64]?
        let names = Self.list(form.pushers)
        if !names.isEmpty {
            guard names.count <= BranchRule.maxPushers else { throw GatewayError.invalid("pushers: at most \(BranchRule.maxPushers) people") }
            pushers = []
            for name in names {
                guard let user = try await users.find(username: name) else { throw GatewayError.invalid("pushers: no user \(name.prefix(40))") }
                pushers?.append(user.id)
            }
        }
        return BranchRule(
            pattern: form.pattern, requiredApprovals: form.requirePullRequest ? approvals : nil, requireCodeOwnerReviews: form.codeOwners,
            requiredContexts: Self.list(form.contexts), pushers: pushers, allowForcePushes: form.allowForcePushes, allowDeletions: form.allowDeletions,
            requireUpToDate: form.upToDate, enforceAdmins: form.enforceAdmins)
    }

    private func formValues(_ rule: BranchRule) async throws -> RuleForm {
        let pushers = try await users.find(ids: rule.pushers ?? []).map(\.username).sorted()
        return RuleForm(
            editing: true, pattern: rule.pattern, requirePullRequest: rule.requiresPullRequest, approvals: String(rule.requiredApprovals ?? 0),
            codeOwners: rule.requireCodeOwnerReviews, contexts: rule.requiredContexts.joined(separator: ", "), upToDate: rule.requireUpToDate,
            pushers: pushers.joined(separator: ", "), allowForcePushes: rule.allowForcePushes, allowDeletions: rule.allowDeletions, enforceAdmins: rule.enforceAdmins)
    }

    private func list(_ page: RepositoryPage, form: RuleForm, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let rules = try await protections.list(repositoryID: page.repository.id)
        let view = BranchRulesView(
            fullName: page.repository.fullName, rules: rules.map { RuleRow(pattern: $0.pattern, summary: Self.summary($0)) }, form: form, error: error)
        return repositoryPages.repositoryPage(
            page, header: page.header("settings", baseURL: repositoryPages.baseURL),
            body: pages.renderer.render("branch_rules", view, csrf: page.visitor.csrfToken), title: "Branches · \(page.repository.fullName)", status: status)
    }

    /// Comma-separated values, trimmed, blanks and repeats dropped.
    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .reduce(into: []) { kept, value in if !kept.contains(value) { kept.append(value) } }
    }

    /// What a rule asks, in a line.
    static func summary(_ rule: BranchRule) -> String {
        var parts: [String] = []
        if let approvals = rule.requiredApprovals { parts.append("pull requests with \(PageFormat.plural(approvals, "approval"))") }
        if rule.requireCodeOwnerReviews { parts.append("code owners approve") }
        if !rule.requiredContexts.isEmpty { parts.append("checks: \(rule.requiredContexts.joined(separator: ", "))") }
        if rule.requireUpToDate { parts.append("up to date") }
        if let pushers = rule.pushers { parts.append("\(PageFormat.plural(pushers.count, "person")) may push") }
        if !rule.allowForcePushes { parts.append("no force push") }
        if !rule.allowDeletions { parts.append("no deletion") }
        if !rule.enforceAdmins { parts.append("admins exempt") }
        return parts.joined(separator: " · ")
    }
}

struct BranchRulesView {
    let fullName: String
    let rules: [RuleRow]
    let form: RuleForm
    let error: String?
}

struct RuleRow {
    let pattern: String
    let summary: String
    let patternQuery: String

    init(pattern: String, summary: String) {
        self.pattern = pattern
        self.summary = summary
        patternQuery = pattern.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? pattern
    }
}

/// The rule form's values, as shown and as sent.
struct RuleForm {
    var editing = false
    var pattern = ""
    var requirePullRequest = false
    var approvals = "1"
    var codeOwners = false
    var contexts = ""
    var upToDate = false
    var pushers = ""
    var allowForcePushes = false
    var allowDeletions = false
    var enforceAdmins = true
}

extension RuleForm {
    init(_ form: PageForm) {
        self.init(
            editing: false, pattern: form.text("pattern"), requirePullRequest: form.isChecked("require_pull_request"), approvals: form.text("approvals"),
            codeOwners: form.isChecked("code_owners"), contexts: form.text("contexts"), upToDate: form.isChecked("up_to_date"), pushers: form.text("pushers"),
            allowForcePushes: form.isChecked("allow_force_pushes"), allowDeletions: form.isChecked("allow_deletions"), enforceAdmins: form.isChecked("enforce_admins"))
    }
}
