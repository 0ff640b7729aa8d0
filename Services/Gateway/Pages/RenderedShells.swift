import CairnProtocol
import Foundation

/// The parts of a page that depend on a few values only, rendered once and kept for five
/// minutes: the site layout around a body (by title, signed-in user and notice) and a
/// repository's header (by everything it shows). Rendering them took a sixth of a
/// signed-in page view's time. They are rendered with a mark where the session's CSRF token
/// goes (and, for the layout, where the body goes), filled in on each view.
final class RenderedShells: Sendable {
    /// What the layout around a body depends on.
    struct LayoutKey: Hashable, Sendable {
        let title: String
        let user: LayoutView.SignedIn?
        let notice: String?
    }

    /// Stands for the CSRF token in a kept shell. Control characters never come out of
    /// escaping user text, so the mark appears only where the templates put the token.
    static let csrfMark = "\u{1}csrf\u{1}"
    private static let bodyMark = "\u{1}body\u{1}"

    private let layouts = RecentValues<LayoutKey, Layout>(lifetime: .seconds(300), limit: 5_000)
    private let headers = RecentValues<RepositoryHeaderView, Shell>(lifetime: .seconds(300), limit: 5_000)

    /// A rendered layout, cut where the body goes.
    struct Layout: Sendable {
        let before: Shell
        let after: Shell
    }

    /// Rendered HTML cut where the CSRF token goes, so filling it in is a join, not a search
    /// (Foundation's `replacingOccurrences` took 6% of a signed-in page view).
    struct Shell: Sendable {
        let parts: [String]

        init(_ html: some StringProtocol) {
            parts = String(html).split(separator: RenderedShells.csrfMark, omittingEmptySubsequences: false).map { String($0) }
        }

        /// The HTML with the session's CSRF token in place of its marks.
        func filled(csrf: String) -> String {
            parts.count == 1 ? parts[0] : parts.joined(separator: csrf)
        }
    }

    /// The layout for `key`, made by `render(csrfMark, bodyMark)` when not kept. Layouts with
    /// titles over `longestKeptTitle` bytes (a path can be long) are not kept, so the kept
    /// shells stay a few megabytes at most.
    func layout(_ key: LayoutKey, render: (_ csrf: String, _ body: String) -> String) -> Layout {
        func made() -> Layout {
            let parts = render(Self.csrfMark, Self.bodyMark).split(separator: Self.bodyMark, maxSplits: 1, omittingEmptySubsequences: false)
            return Layout(before: Shell(parts[0]), after: Shell(parts.count > 1 ? parts[1] : ""))
        }
        guard key.title.utf8.count <= Self.longestKeptTitle else { return made() }
        return layouts.value(key, make: made) ?? made()
    }

    static let longestKeptTitle = 200

    /// The header for `view`, made by `render(csrfMark)` when not kept.
    func header(_ view: RepositoryHeaderView, render: (_ csrf: String) -> String) -> Shell {
        headers.value(view) { Shell(render(Self.csrfMark)) } ?? Shell("")
    }
}
