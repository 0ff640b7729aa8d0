import CairnProtocol

/// Reading `git diff` output. It can run to megabytes for one commit, so it is read as
/// bytes: splitting it by `Character` cost 0.4 s for a commit of 10,000 files.
extension RepositoryReader {
    /// Reads `git diff --raw -z`: for each file a `:modes ids status` field, then its path
    /// (two paths, old and new, for a rename or copy).
    static func parseRaw(_ output: String) -> [GitFileChange] {
        var changes: [GitFileChange] = []
        var fields = output.utf8.split(separator: 0, omittingEmptySubsequences: false)[...]
        while let meta = fields.popFirst(), meta.first == UInt8(ascii: ":") {
            let status = meta.split(separator: UInt8(ascii: " ")).last?.first ?? UInt8(ascii: "M")
            guard let first = fields.popFirst() else { break }
            var change = GitFileChange(path: String(decoding: first, as: UTF8.self), previousPath: nil, status: "modified", additions: 0, deletions: 0, patch: "")
            switch status {
            case UInt8(ascii: "A"): change.status = "added"
            case UInt8(ascii: "D"): change.status = "removed"
            case UInt8(ascii: "T"): change.status = "changed"  // file ↔ symlink or submodule: two diffs
            case UInt8(ascii: "R"), UInt8(ascii: "C"):
                guard let second = fields.popFirst() else { break }
                change.previousPath = change.path
                change.path = String(decoding: second, as: UTF8.self)
                change.status = status == UInt8(ascii: "R") ? "renamed" : "copied"
            default: break
            }
            changes.append(change)
        }
        return changes
    }

    /// Reads `git diff --numstat -z`: added and removed lines (`-` for a binary file) and the
    /// path, or an empty path followed by the old and new paths of a rename.
    static func parseNumstat(_ output: String) -> [GitFileChange] {
        var changes: [GitFileChange] = []
        var fields = output.utf8.split(separator: 0, omittingEmptySubsequences: false)[...]
        while let head = fields.popFirst(), !head.isEmpty {
            let counts = head.split(separator: UInt8(ascii: "\t"), maxSplits: 2, omittingEmptySubsequences: false)
            guard counts.count == 3 else { break }
            var path = String(decoding: counts[2], as: UTF8.self)
            var previous: String?
            if path.isEmpty, let from = fields.popFirst(), let to = fields.popFirst() {
                previous = String(decoding: from, as: UTF8.self)
                path = String(decoding: to, as: UTF8.self)
            }
            let binary = counts[0].first == UInt8(ascii: "-")
            changes.append(GitFileChange(
                path: path, previousPath: previous, status: previous == nil ? "modified" : "renamed",
                additions: Int(String(decoding: counts[0], as: UTF8.self)) ?? 0, deletions: Int(String(decoding: counts[1], as: UTF8.self)) ?? 0,
                patch: binary ? nil : ""))
        }
        return changes
    }

    /// `changes` (in git's order) with each file's hunks from the unified diff `patch`, while
    /// they fit in `patchLimit` bytes in all; a file past that, or without hunks (binary,
    /// a mode change), gets none. A file whose type changed (`changed`) has two parts in the
    /// diff, its removal and its creation, joined here. When the diff was `cut`, its last
    /// file is incomplete and gets none, as do the files after it. With `countLines`, each
    /// file's added and removed lines are counted from its hunks (for a listing without counts).
    static func joinPatches(_ changes: [GitFileChange], patch: String, patchLimit: Int, cut: Bool, countLines: Bool) -> [GitFileChange] {
        var changes = changes
        var blocks = fileBlocks(patch)
        if cut { blocks.removeLast() }
        var next = 0
        var budget = patchLimit
        for index in changes.indices {
            let parts = changes[index].status == "changed" ? 2 : 1
            guard next + parts <= blocks.count else {
                next = blocks.count
                changes[index].patch = nil
                continue
            }
            let files = blocks[next..<next + parts]
            next += parts
            guard changes[index].patch != nil else { continue }  // binary, as the listing said
            var hunks: [Substring] = []
            for block in files {
                let hunksStart = block.utf8.starts(with: "@@".utf8) ? block.startIndex : firstLine(startingWith: "@@", in: block)
                let header = block[..<(hunksStart ?? block.endIndex)]
                if parts == 1, firstLine(startingWith: "new file mode", in: header) != nil { changes[index].status = "added" }
                if parts == 1, firstLine(startingWith: "deleted file mode", in: header) != nil { changes[index].status = "removed" }
                guard let hunksStart else { continue }
                var found = block[hunksStart...]
                if found.utf8.last == UInt8(ascii: "\n") { found = found.dropLast() }
                hunks.append(found)
            }
            guard !hunks.isEmpty else {
                changes[index].patch = nil
                continue
            }
            let text = hunks.joined(separator: "\n")
            if countLines {
                for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                    if line.first == UInt8(ascii: "+") { changes[index].additions += 1 }
                    if line.first == UInt8(ascii: "-") { changes[index].deletions += 1 }
                }
            }
            if text.utf8.count <= budget {
                changes[index].patch = text
                budget -= text.utf8.count
            } else {
                changes[index].patch = nil  // too large to include; the raw diff has it
            }
        }
        return changes
    }

    /// The unified diff cut into one part per file, each starting at its `diff --git` line.
    static func fileBlocks(_ patch: String) -> [Substring] {
        var blocks: [Substring] = []
        var start = patch.startIndex
        var rest = patch[...]
        while let next = firstLine(startingWith: "diff --git ", in: rest) {
            blocks.append(patch[start..<patch.utf8.index(before: next)])
            start = next
            rest = patch[patch.utf8.index(after: next)...]
        }
        blocks.append(patch[start...])
        return blocks
    }

    /// Where the first line of `text` after its first one that starts with `prefix` begins.
    /// (A plain loop over the bytes: the standard library's `firstRange(of:)` took most of
    /// the time of a 10,000-file commit in generic metadata lookups.)
    static func firstLine(startingWith prefix: StaticString, in text: Substring) -> String.Index? {
        let wanted = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        let utf8 = text.utf8
        var index = utf8.startIndex
        while let newline = utf8[index...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = utf8.index(after: newline)
            if utf8[line...].starts(with: wanted) { return line }
            index = line
        }
        return nil
    }
}
