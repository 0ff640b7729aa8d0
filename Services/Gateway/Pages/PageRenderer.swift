import CairnProtocol
import Crypto
import Foundation
import Mustache

/// Renders the gateway's Mustache templates (compiled into the binary from each feature's
/// `Templates` folder and `Pages/Templates`). Every template is parsed with Cairn's escaper as its content type,
/// so `{{value}}` always goes through `HTMLEscaper`; `{{{value}}}` is kept for HTML that
/// Cairn built itself (rendered Markdown, highlighted diffs, inner page bodies).
struct PageRenderer: Sendable {
    let library: MustacheLibrary
    /// Where the stylesheet and the script are served, computed at start.
    let assets: StaticAssets
    /// Changes with any template or asset: every cached fragment and page is keyed by it,
    /// so that a new release never serves what an older one rendered.
    static let fingerprint: String = {
        var hasher = SHA256()
        for (name, bytes) in sources.sorted(by: { $0.key < $1.key }) {
            hasher.update(data: Array(name.utf8) + bytes)
        }
        hasher.update(data: PackageResources.app_css + PackageResources.app_js)
        return hasher.finalize().prefix(4).hexString
    }()

    /// The template sources by name; one line per file in a feature's `Templates` folder
    /// (`Pages/Templates` for those every feature shares: the layout, the repository header).
    static let sources: [String: [UInt8]] = [
        "layout": PackageResources.layout_mustache,
        "error": PackageResources.error_mustache,
        "home": PackageResources.home_mustache,
        "explore": PackageResources.explore_mustache,
        "sign_in": PackageResources.sign_in_mustache,
        "sign_up": PackageResources.sign_up_mustache,
        "account_settings": PackageResources.account_settings_mustache,
        "profile": PackageResources.profile_mustache,
        "new_repository": PackageResources.new_repository_mustache,
        "repository_header": PackageResources.repository_header_mustache,
        "repository_home": PackageResources.repository_home_mustache,
        "tree": PackageResources.tree_mustache,
        "blob": PackageResources.blob_mustache,
        "commits": PackageResources.commits_mustache,
        "commit": PackageResources.commit_mustache,
        "blame": PackageResources.blame_mustache,
        "refs": PackageResources.refs_mustache,
        "pulls": PackageResources.pulls_mustache,
        "pull": PackageResources.pull_mustache,
        "pull_new": PackageResources.pull_new_mustache,
        "pull_diff": PackageResources.pull_diff_mustache,
        "repository_list": PackageResources.repository_list_mustache,
        "file_table": PackageResources.file_table_mustache,
        "diff_files": PackageResources.diff_files_mustache,
        "status_mark": PackageResources.status_mark_mustache,
        "ref_switcher": PackageResources.ref_switcher_mustache,
        "repository_settings": PackageResources.repository_settings_mustache,
        "webhooks": PackageResources.webhooks_mustache,
        "webhook": PackageResources.webhook_mustache,
        "webhook_delivery": PackageResources.webhook_delivery_mustache,
        "unsubscribe": PackageResources.unsubscribe_mustache,
        "traffic": PackageResources.traffic_mustache,
        "site_activity": PackageResources.site_activity_mustache,
        "downloads": PackageResources.downloads_mustache,
        "archive_pending": PackageResources.archive_pending_mustache,
        "switches": PackageResources.switches_mustache,
        "error_reports": PackageResources.error_reports_mustache,
        "error_report": PackageResources.error_report_mustache,
        "routes": PackageResources.routes_mustache,
        "status": PackageResources.status_mustache,
        "profile_repositories": PackageResources.profile_repositories_mustache,
        "branch_rules": PackageResources.branch_rules_mustache,
        "repository_tokens": PackageResources.repository_tokens_mustache,
        "ssh_keys": PackageResources.ssh_keys_mustache,
    ]

    static let contentTypeName = "CAIRN_HTML"
    /// Templates included by others with `{{> name}}`; they render in their includer's context.
    static let partials: Set<String> = ["repository_list", "ref_switcher", "file_table", "diff_files", "status_mark"]

    init(assets: StaticAssets) throws {
        MustacheContentTypes.register(EscapedHTML(), named: Self.contentTypeName)
        var library = MustacheLibrary()
        for (name, bytes) in Self.sources {
            // Each template renders inside `{{#page}}`, so the CSRF token at the outer level is
            // in reach of every form.
            let source = String(decoding: bytes, as: UTF8.self)
            let body = Self.partials.contains(name) ? source : "{{#page}}\(source){{/page}}"
            try library.register("{{% CONTENT_TYPE: \(Self.contentTypeName) }}\(body)", named: name)
        }
        self.library = library
        self.assets = assets
    }

    /// Renders template `name` with `object` (a struct read by its property names); `csrf`
    /// is the visitor's token, which forms put in their hidden `csrf` field.
    func render(_ name: String, _ object: Any, csrf: String = "") -> String {
        guard let text = library.render(["csrf": csrf, "page": MustacheFields.prepare(object)] as [String: Any], withTemplate: name) else {
            preconditionFailure("no template named \(name)")
        }
        return text
    }

    private struct EscapedHTML: MustacheContentType {
        func escapeText(_ text: String) -> String { HTMLEscaper.escape(text) }
    }
}
