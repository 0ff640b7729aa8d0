import CairnModel
import CairnProtocol

/// A `CODEOWNERS` file as GitHub reads one: each line a path pattern and the people who own
/// what it matches (`@user`; teams and email addresses are skipped, as Cairn has neither),
/// the last matching line winning. Patterns follow GitHub's subset of gitignore: `/` at the
/// start anchors to the root (as does a `/` inside), a trailing `/` means a directory and
/// all below it, `*` is any run of characters but `/`, a `**` segment any run of segments,
/// `?` one character; `docs/*` matches the files right in `docs/`, not deeper.
///
/// Written here because no library on this machine reads the format. The file comes from
/// any pusher, so matching is bounded: patterns are matched segment by segment without
/// regular expressions, and one file's matching stops after `maxSteps` character steps
/// (what is left unmatched then has no owners).
struct CodeOwners {
    struct Rule {
        /// The pattern's segments (between `/`), `**` standing for any run of segments.
        let segments: [Substring]
        let anchored: Bool
        /// A trailing `/`: only what is below a directory so named.
        let directoryOnly: Bool
        let owners: [String]
    }

    let rules: [Rule]

    /// The places GitHub looks, in its order; the first that exists counts.
    static let locations = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]
    static let maxBytes = 64 * 1024
    static let maxRules = 1000
    static let maxPatternLength = 256
    static let maxSteps = 5_000_000

    /// A file of more than `maxRules` rules is not read at all: its last lines, which win,
    /// cannot be dropped.
    init(_ text: String) {
        var rules: [Rule] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            guard rules.count < Self.maxRules else {
                self.rules = []
                return
            }
            let owners = fields.dropFirst().prefix { !$0.hasPrefix("#") }.compactMap { field -> String? in
                guard field.hasPrefix("@"), !field.contains("/"), field.count > 1 else { return nil }
                return String(field.dropFirst())
            }
            // A line with no owners still counts: it takes ownership away from earlier lines.
            if let rule = Self.rule(first, owners: owners) { rules.append(rule) }
        }
        self.rules = rules
    }

    static func rule(_ pattern: Substring, owners: [String]) -> Rule? {
        guard pattern.utf8.count <= maxPatternLength else { return nil }
        var text = pattern
        let directoryOnly = text.hasSuffix("/")
        if directoryOnly { text = text.dropLast() }
        let anchored = text.hasPrefix("/") || text.contains("/")
        if text.hasPrefix("/") { text = text.dropFirst() }
        let segments = text.split(separator: "/", omittingEmptySubsequences: true)
        guard !segments.isEmpty else { return nil }
        return Rule(segments: segments, anchored: anchored, directoryOnly: directoryOnly, owners: owners)
    }

    /// The owners (user names) of each of `paths`: those of the last rule that matches it.
    func owners(of paths: [String]) -> [[String]] {
        var budget = Self.maxSteps
        return paths.map { owners(of: $0, budget: &budget) }
    }

    func owners(of path: String) -> [String] {
        var budget = Self.maxSteps
        return owners(of: path, budget: &budget)
    }

    private func owners(of path: String, budget: inout Int) -> [String] {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map { Array($0.utf8) }
        for rule in rules.reversed() where Self.matches(rule, components, budget: &budget) {
            return rule.owners
        }
        return []
    }

    /// Whether `rule` matches the path of `components`: from the root when anchored, else
    /// from any directory down; a name matched before the last component owns what is below it.
    static func matches(_ rule: Rule, _ components: [[UInt8]], budget: inout Int) -> Bool {
        let segments = rule.segments.map { Array($0.utf8) }
        // What a full match of the segments may leave of the path: something below a
        // directory (`dir/`), nothing after a wildcard name (`*.js`, `docs/*`), else either.
        let lastIsWildcard = segments.last?.last == UInt8(ascii: "*") && segments.last != Array("**".utf8)
        func ends(at index: Int) -> Bool {
            if rule.directoryOnly { return index < components.count }
            return lastIsWildcard ? index == components.count : index <= components.count
        }
        // known[i][j]: whether segments i… match from component j (nil: not worked out yet);
        // the table and each step are paid for from the budget.
        budget -= (segments.count + 1) * (components.count + 1)
        guard budget > 0 else { return false }
        var known = [[Bool?]](repeating: [Bool?](repeating: nil, count: components.count + 1), count: segments.count + 1)
        func match(_ i: Int, _ j: Int) -> Bool {
            if let answer = known[i][j] { return answer }
            budget -= 1
            var answer = false
            if i == segments.count {
                answer = j > 0 && ends(at: j)
            } else if segments[i] == Array("**".utf8) {
                answer = (j...components.count).contains { match(i + 1, $0) }
            } else if j < components.count {
                answer = wildcard(segments[i], components[j], budget: &budget) && match(i + 1, j + 1)
            }
            known[i][j] = answer
            return answer
        }
        let starts = rule.anchored ? 0...0 : 0...max(components.count - 1, 0)
        return starts.contains { match(0, $0) }
    }

    /// Whether one path component matches one pattern segment (`*` any run, `?` one byte),
    /// by the greedy method with one backtracking point: at most a few passes over each.
    static func wildcard(_ pattern: [UInt8], _ text: [UInt8], budget: inout Int) -> Bool {
        var (p, t) = (0, 0)
        var star: Int?
        var resume = 0
        while t < text.count {
            budget -= 1
            if budget <= 0 { return false }
            if p < pattern.count && (pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t]) && pattern[p] != UInt8(ascii: "*") {
                p += 1
                t += 1
            } else if p < pattern.count && pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = t
                p += 1
            } else if let star {
                p = star + 1
                resume += 1
                t = resume
            } else {
                return false
            }
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}

extension RepositoryContent {
    /// The CODEOWNERS file of `repository` at `commit`, from the first of GitHub's places that has one.
    func codeOwners(_ repository: Repository, at commit: String) async throws -> CodeOwners? {
        for path in CodeOwners.locations {
            guard let object = try? await object(repository, ref: commit, path: path), object.type == "blob" else { continue }
            // The first file there counts, even one too large to read (then no one owns anything).
            guard object.size <= CodeOwners.maxBytes, let data = try await blob(repository, sha: object.sha, limit: CodeOwners.maxBytes) else { return nil }
            return CodeOwners(String(decoding: data, as: UTF8.self))
        }
        return nil
    }
}
