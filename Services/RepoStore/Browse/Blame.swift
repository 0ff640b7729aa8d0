import CairnProtocol
import Foundation

extension RepositoryReader {
    /// Who last changed each line of `file` at `revision`; nil when there is no such commit.
    func blame(revision: String, file: String) async throws -> GitBlame? {
        // `git blame` takes no --end-of-options: the revision is resolved to a commit id first.
        guard let commit = try? await git.run(["rev-parse", "--verify", "--end-of-options", "\(revision)^{commit}"], in: path)
            .trimmingCharacters(in: .whitespacesAndNewlines), commit.count == 40 else { return nil }
        let output = try await git.run(["blame", "--porcelain", commit, "--", file], in: path, timeLimit: .seconds(120))
        return Self.parseBlame(output, commit: commit)
    }

    /// Reads `git blame --porcelain`: each group of lines starts with `<sha> <original line>
    /// <final line> <count>`, a commit's first group has its `author`, `author-time` and
    /// `summary`, and every line of the file follows its header after a tab.
    static func parseBlame(_ output: String, commit: String) -> GitBlame {
        var commits: [String: GitBlame.Commit] = [:]
        var ranges: [GitBlame.Range] = []
        var lines: [String] = []
        var current: (sha: String, author: String, time: Int, summary: String)?
        // By bytes: a file's `\r\n` would be one Character and swallow the next header.
        for bytes in output.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if bytes.first == UInt8(ascii: "\t") {
                lines.append(String(decoding: bytes.dropFirst(), as: UTF8.self))
                if let current, commits[current.sha] == nil {
                    commits[current.sha] = GitBlame.Commit(author: current.author, time: current.time, summary: current.summary)
                }
                continue
            }
            let line = String(decoding: bytes, as: UTF8.self)
            let fields = line.split(separator: " ", maxSplits: 1)
            guard let key = fields.first else { continue }
            let value = fields.count > 1 ? String(fields[1]) : ""
            if key.utf8.count == 40, key.allSatisfy(\.isHexDigit) {
                let numbers = value.split(separator: " ").compactMap { Int($0) }
                let sha = String(key)
                if current?.sha != sha { current = (sha, "", 0, "") }
                if numbers.count == 3, numbers[2] > 0 { ranges.append(GitBlame.Range(sha: sha, start: numbers[1], count: numbers[2])) }
                continue
            }
            switch key {
            case "author": current?.author = value
            case "author-time": current?.time = Int(value) ?? 0
            case "summary": current?.summary = value
            default: break
            }
        }
        return GitBlame(commit: commit, commits: commits, ranges: ranges, lines: lines)
    }
}
