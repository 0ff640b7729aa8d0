import Foundation

/// A `CODEOWNERS` file as GitHub reads one: each line a path pattern and the people who own
/// what it matches (`@user`; teams and email addresses are skipped, as Cairn has neither),
/// the last matching line winning. Patterns follow GitHub's subset of gitignore: `/` at the
/// start anchors to the root (as does a `/` inside), a trailing `/` means a directory and
/// all below it, `*` is any run of characters but `/`, `**` any run at all, `?` one
/// character; `docs/*` matches the files right in `docs/`, not deeper. Written here because
/// no library on this machine reads the format; files, lines and patterns are bounded.
struct CodeOwners {
    struct Rule {
        let pattern: NSRegularExpression
        let owners: [String]
    }

    let rules: [Rule]

    /// The places GitHub looks, in its order; the first that exists counts.
    static let locations = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]
    static let maxBytes = 64 * 1024
    static let maxRules = 1000
    static let maxPatternLength = 512

    init(_ text: String) {
        var rules: [Rule] = []
        for line in text.split(whereSeparator: \.isNewline).prefix(Self.maxRules * 2) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first, !first.hasPrefix("#"), first.count <= Self.maxPatternLength else { continue }
            let owners = fields.dropFirst().prefix { !$0.hasPrefix("#") }.compactMap { field -> String? in
                guard field.hasPrefix("@"), !field.contains("/"), field.count > 1 else { return nil }
                return String(field.dropFirst())
            }
            guard let pattern = Self.expression(String(first)) else { continue }
            // A line with no owners still counts: it takes ownership away from earlier lines.
            rules.append(Rule(pattern: pattern, owners: owners))
            if rules.count == Self.maxRules { break }
        }
        self.rules = rules
    }

    /// The owners (user names) of `path`: those of the last rule that matches it.
    func owners(of path: String) -> [String] {
        let range = NSRange(path.startIndex..., in: path)
        for rule in rules.reversed() where rule.pattern.firstMatch(in: path, range: range) != nil {
            return rule.owners
        }
        return []
    }

    /// `pattern` as an anchored regular expression over a file's path, or nil if unusable.
    static func expression(_ pattern: String) -> NSRegularExpression? {
        var text = pattern
        let directoryOnly = text.hasSuffix("/")
        if directoryOnly { text.removeLast() }
        let anchored = text.hasPrefix("/") || text.contains("/")
        if text.hasPrefix("/") { text.removeFirst() }
        guard !text.isEmpty else { return nil }
        var body = ""
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            switch character {
            case "*" where characters.first == "*":
                characters.removeFirst()
                if characters.first == "/" {
                    characters.removeFirst()
                    body += "(?:.*/)?"
                } else {
                    body += ".*"
                }
            case "*": body += "[^/]*"
            case "?": body += "[^/]"
            default: body += NSRegularExpression.escapedPattern(for: String(character))
            }
        }
        // A name or directory owns everything below it; `docs/*` and `*.js` only what they name.
        let below = directoryOnly ? "/.*" : text.hasSuffix("*") ? "" : "(?:/.*)?"
        return try? NSRegularExpression(pattern: "^" + (anchored ? "" : "(?:.*/)?") + body + below + "$")
    }
}
