@testable import CairnRepoStore
import CairnProtocol
import Foundation
import Testing

/// One commit's files and diffs read from real git output, counted by `git diff --numstat`
/// or, for a commit of very many files, from the diffs themselves: both give the same
/// statuses and counts for renames, binary files, mode changes and non-ASCII names.
@Suite(.timeLimit(.minutes(2))) struct DiffParsingTests {
    /// A repository whose second commit renames, adds (binary and text), removes and
    /// changes the mode of files.
    static func repository() async throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-diff-\(UUID().uuidString)").path
        let git = Git()
        try await git.run(["init", "--quiet", "-b", "main", path])
        let lines = (1...30).map { "line \($0) of a file that moves" }.joined(separator: "\n") + "\n"
        try lines.write(toFile: "\(path)/old name.txt", atomically: true, encoding: .utf8)
        try "gone\n".write(toFile: "\(path)/removed.txt", atomically: true, encoding: .utf8)
        try "#!/bin/sh\n".write(toFile: "\(path)/run.sh", atomically: true, encoding: .utf8)
        try "a file that becomes a link\n".write(toFile: "\(path)/a-link", atomically: true, encoding: .utf8)
        let commit = ["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "--quiet", "-m"]
        try await git.run(["add", "-A"], in: path)
        try await git.run(commit + ["one"], in: path)
        try await git.run(["mv", "old name.txt", "new name.txt"], in: path)
        try (lines + "one more line\n").write(toFile: "\(path)/new name.txt", atomically: true, encoding: .utf8)
        try Data([0, 1, 2, 255, 0]).write(to: URL(fileURLWithPath: "\(path)/image.bin"))
        try "naïve\ncafé\n".write(toFile: "\(path)/café.txt", atomically: true, encoding: .utf8)
        try await git.run(["rm", "--quiet", "removed.txt"], in: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(path)/run.sh")
        // A file that becomes a symbolic link has two diffs (its removal, the link's creation).
        try FileManager.default.removeItem(atPath: "\(path)/a-link")
        try FileManager.default.createSymbolicLink(atPath: "\(path)/a-link", withDestinationPath: "run.sh")
        try await git.run(["add", "-A"], in: path)
        try await git.run(commit + ["two"], in: path)
        return path
    }

    @Test func test_numstatAndRawListingsAgree() async throws {
        let path = try await Self.repository()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = RepositoryReader(git: Git(), path: path)
        let counted = try #require(try await reader.commit("HEAD"))
        let listed = try #require(try await reader.commit("HEAD", countedFiles: 0))
        #expect(counted.countsIncomplete == false && listed.countsIncomplete == true)
        for detail in [counted, listed] {
            let byPath = Dictionary(uniqueKeysWithValues: detail.files.map { ($0.path, $0) })
            #expect(byPath.keys.sorted() == ["a-link", "café.txt", "image.bin", "new name.txt", "removed.txt", "run.sh"])
            #expect(byPath["a-link"]?.status == "changed")
            #expect(byPath["a-link"]?.patch == "@@ -1 +0,0 @@\n-a file that becomes a link\n@@ -0,0 +1 @@\n+run.sh\n\\ No newline at end of file")
            #expect(byPath["new name.txt"]?.status == "renamed" && byPath["new name.txt"]?.previousPath == "old name.txt")
            #expect(byPath["new name.txt"]?.additions == 1 && byPath["new name.txt"]?.deletions == 0)
            #expect(byPath["new name.txt"]?.patch?.hasPrefix("@@ ") == true)
            #expect(byPath["café.txt"]?.status == "added" && byPath["café.txt"]?.additions == 2)
            #expect(byPath["café.txt"]?.patch == "@@ -0,0 +1,2 @@\n+naïve\n+café")
            #expect(byPath["removed.txt"]?.status == "removed" && byPath["removed.txt"]?.deletions == 1)
            #expect(byPath["image.bin"]?.patch == nil)  // binary
            #expect(byPath["run.sh"]?.patch == nil)  // a mode change has no hunks
        }
    }

    @Test func test_aCutDiffLeavesOutItsLastFileAndTheRest() async throws {
        let path = try await Self.repository()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = RepositoryReader(git: Git(), path: path)
        let detail = try #require(try await reader.commit("HEAD", patchLimit: 40))
        #expect(detail.patchesCut == true)
        #expect(detail.files.count == 6)  // every file is still listed
        #expect(detail.files.allSatisfy { $0.patch == nil || $0.patch!.utf8.count <= 40 })
        #expect(detail.files.last?.patch == nil)
    }

    @Test func test_blameReadsFilesWithWindowsLineEndings() async throws {
        let path = try await Self.repository()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "one\r\ntwo\r\nthree\r\n".write(toFile: "\(path)/dos.txt", atomically: true, encoding: .utf8)
        try await Git().run(["add", "dos.txt"], in: path)
        try await Git().run(["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "three"], in: path)
        let blame = try #require(try await RepositoryReader(git: Git(), path: path).blame(revision: "HEAD", file: "dos.txt"))
        #expect(blame.lines == ["one\r", "two\r", "three\r"])
        #expect(blame.ranges.map(\.count) == [3])
        #expect(blame.commits[blame.ranges[0].sha]?.summary == "three")
    }

    @Test func test_fileBlocksSplitAtEachDiffLine() {
        let patch = "diff --git a/x b/x\n@@ -1 +1 @@\n-a\n+b\ndiff --git a/y b/y\nBinary files differ\n"
        #expect(RepositoryReader.fileBlocks(patch) == ["diff --git a/x b/x\n@@ -1 +1 @@\n-a\n+b", "diff --git a/y b/y\nBinary files differ\n"])
        #expect(RepositoryReader.fileBlocks("") == [""])
        #expect(RepositoryReader.parseRaw("").isEmpty)
        #expect(RepositoryReader.parseNumstat("garbage").isEmpty)
    }
}
