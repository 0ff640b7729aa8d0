/// One line of a unified diff, with its numbers in the old and the new file, marked for the
/// stylesheet: `hunk` (a hunk's header), `add`, `del`, `ctx` (unchanged) or `note` (git's
/// "\ No newline at end of file").
struct DiffLine {
    let kind: String
    /// The line as git wrote it, its `+`, `-` or space included.
    let text: String
    let old: Int?
    let new: Int?
    /// The line highlighted (safe HTML, its marker included), when it could be.
    var html: String?
    /// On a hunk's header: the same page with more unchanged lines around each change.
    var moreContext: String?

    /// The lines of `patch` (from its first hunk on), at most `limit` of them.
    static func lines(_ patch: String, limit: Int) -> (lines: [DiffLine], truncated: Bool) {
        var result: [DiffLine] = []
        var old = 0
        var new = 0
        for line in patch.split(separator: "\n", omittingEmptySubsequences: false) {
            if result.count >= limit { return (result, true) }
            if line.hasPrefix("@@") {
                let starts = hunkStarts(line)
                (old, new) = starts ?? (0, 0)
                result.append(DiffLine(kind: "hunk", text: String(line), old: nil, new: nil))
                continue
            }
            // By byte: `+` followed by a combining mark is one Character.
            switch line.utf8.first.map({ Character(Unicode.Scalar($0)) }) {
            case "+":
                result.append(DiffLine(kind: "add", text: String(line), old: nil, new: new > 0 ? new : nil))
                new += new > 0 ? 1 : 0
            case "-":
                result.append(DiffLine(kind: "del", text: String(line), old: old > 0 ? old : nil, new: nil))
                old += old > 0 ? 1 : 0
            case "\\":
                result.append(DiffLine(kind: "note", text: String(line), old: nil, new: nil))
            case nil:
                continue  // the end of the patch
            default:
                result.append(DiffLine(kind: "ctx", text: String(line), old: old > 0 ? old : nil, new: new > 0 ? new : nil))
                old += old > 0 ? 1 : 0
                new += new > 0 ? 1 : 0
            }
        }
        return (result, false)
    }

    /// Whether `patch` shows line `line` of the old file (`side` LEFT) or of the new one
    /// (RIGHT): the lines an inline comment may sit on.
    static func contains(_ patch: String, side: String, line: Int) -> Bool {
        lines(patch, limit: .max).lines.contains { side == "LEFT" ? $0.old == line : $0.new == line }
    }

    /// The first line numbers of a hunk, from its header `@@ -12,7 +12,8 @@ …`; a side that
    /// starts at 0 (a file added or removed) or cannot be read counts as 0, no numbers shown.
    static func hunkStarts(_ header: Substring) -> (old: Int, new: Int)? {
        let fields = header.split(separator: " ", maxSplits: 3)
        guard fields.count >= 3, fields[1].hasPrefix("-"), fields[2].hasPrefix("+") else { return nil }
        func start(_ field: Substring) -> Int {
            let number = field.dropFirst().prefix { $0 != "," }
            guard number.count <= 12, let value = Int(number), value >= 0 else { return 0 }
            return value
        }
        return (start(fields[1]), start(fields[2]))
    }

    /// The code of each side as a file of its own, for the highlighter: the unchanged and
    /// removed lines (old), the unchanged and added lines (new), markers dropped.
    static func sides(_ lines: [DiffLine]) -> (old: String, new: String) {
        var old = ""
        var new = ""
        for line in lines {
            let code = String(decoding: line.text.utf8.dropFirst(), as: UTF8.self)
            if line.kind == "ctx" || line.kind == "del" { old += code + "\n" }
            if line.kind == "ctx" || line.kind == "add" { new += code + "\n" }
        }
        return (old, new)
    }

    /// `lines` with the highlighted code of each side (as `sides` cut them) put back in;
    /// a side with no highlighting, or with a different number of lines, stays plain.
    static func highlighted(_ lines: [DiffLine], old: [String]?, new: [String]?) -> [DiffLine] {
        let counts = lines.reduce(into: (old: 0, new: 0)) { counts, line in
            if line.kind == "ctx" || line.kind == "del" { counts.old += 1 }
            if line.kind == "ctx" || line.kind == "add" { counts.new += 1 }
        }
        let old = old?.count == counts.old ? old : nil
        let new = new?.count == counts.new ? new : nil
        var (oldIndex, newIndex) = (0, 0)
        return lines.map { line in
            var line = line
            let marker = HTMLEscaper.escape(String(decoding: line.text.utf8.prefix(1), as: UTF8.self))
            switch line.kind {
            case "del":
                line.html = old.map { marker + $0[oldIndex] }
                oldIndex += 1
            case "add":
                line.html = new.map { marker + $0[newIndex] }
                newIndex += 1
            case "ctx":
                line.html = new.map { marker + $0[newIndex] } ?? old.map { marker + $0[oldIndex] }
                oldIndex += 1
                newIndex += 1
            default:
                break
            }
            return line
        }
    }
}

/// How many unchanged lines a diff shows around each change: 3 as git does, then more on
/// request, up to the whole file. Only these steps (and 0) are served, so a visitor cannot
/// make a page of every number.
enum DiffContext {
    static let standard = 3
    static let whole = 1_000_000
    static let steps = [0, standard, 25, 200, whole]

    /// The next step after `lines`, or nil when the whole file shows already.
    static func more(than lines: Int) -> Int? {
        switch lines {
        case ..<25: 25
        case ..<200: 200
        case ..<whole: whole
        default: nil
        }
    }
}
