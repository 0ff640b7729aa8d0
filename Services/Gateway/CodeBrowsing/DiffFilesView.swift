import CairnProtocol

/// The files of a diff as the commit and pull request pages show them (the `diff_files`
/// partial): at most `maxFilesShown` files and `maxDiffLines` lines in all, with line numbers,
/// highlighted, each hunk offering more context.
enum DiffFilesView {
    static let maxDiffLines = 2000
    /// The most files a page lists, as GitHub does; the rest are counted. (Rendering each
    /// costs about 0.3 ms.)
    static let maxFilesShown = 300

    struct File {
        let path: String
        let previousPath: String?
        let status: String
        let additions: Int
        let deletions: Int
        /// Whether the counts are known (not for files past the diffs read of a huge commit).
        let counted: Bool
        let lines: [DiffLine]
        let truncated: Bool
        let tooLarge: Bool
        let anchor: String
    }

    static func files(_ changes: [GitFileChange], countsIncomplete: Bool, context: Int, highlighting: CodeHighlighting) async -> [File] {
        var budget = maxDiffLines
        let shown = changes.prefix(maxFilesShown)
        var parsed = shown.map { file in
            let (lines, truncated) = file.patch.map { DiffLine.lines($0, limit: max(budget, 0)) } ?? ([], false)
            budget -= lines.count
            return (lines: lines, truncated: truncated)
        }
        let snippets = zip(shown, parsed).flatMap { file, diff in
            let sides = DiffLine.sides(diff.lines)
            return [(path: file.previousPath ?? file.path, text: sides.old), (path: file.path, text: sides.new)]
        }
        let highlighted = await highlighting.snippets(snippets)
        let more = DiffContext.more(than: context)
        for index in parsed.indices {
            parsed[index].lines = DiffLine.highlighted(parsed[index].lines, old: highlighted[2 * index], new: highlighted[2 * index + 1]).map { line in
                var line = line
                // An added or removed file shows whole already.
                if line.kind == "hunk", let more, shown[shown.startIndex + index].status != "added", shown[shown.startIndex + index].status != "removed" {
                    line.moreContext = "?context=\(more)#diff-\(index)"
                }
                return line
            }
        }
        return zip(shown, parsed).enumerated().map { index, pair in
            let (file, diff) = pair
            return File(
                path: file.path, previousPath: file.previousPath, status: file.status, additions: file.additions, deletions: file.deletions,
                counted: !countsIncomplete || file.patch != nil, lines: diff.lines, truncated: diff.truncated, tooLarge: file.patch == nil, anchor: "diff-\(index)")
        }
    }
}
