import AsyncHTTPClient
import CairnModel
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// What long-lived public histories carry and Cairn's own test repositories never do:
/// objects that old git versions and importers wrote, which `git fsck` flags but every
/// client checks out. The test writes such objects itself (CI cannot fetch real projects).
@Suite(.timeLimit(.minutes(6))) struct RealHistoryTests {
    @Test func test_oldObjectsArePushedAndClonedBackIdentical() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "old-history")
            let work = try await stack.makeWorkingCopy("old-history", commits: 2)
            let objects = OldObjects(stack: stack, work: work)
            let base = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)

            // A tree with a zero-padded mode (040000), as git before 2006 wrote them.
            let file = try await objects.blob("kept from 2005\n")
            let inner = try await objects.tree([("100644", "file.txt", file)])
            let padded = try await objects.tree([("100644", "README", file), ("040000", "old", inner)])
            // Commits with a bad time zone, a missing space before the date, an email with no name.
            let badZone = try await objects.commit(tree: padded, parent: base, ident: "Old Importer <old@example.com> 1118000000 +051800")
            let noSpace = try await objects.commit(tree: padded, parent: badZone, ident: "Old Tool <tool@example.com>1118000000 +0000")
            let noName = try await objects.commit(tree: padded, parent: noSpace, ident: "<nameless@example.com> 1118000000 +0000")
            // A tag with no tagger, as tags were made before git recorded one.
            let tag = try await objects.write(type: "tag", "object \(noName)\ntype commit\ntag v0.1\n\nold release\n")
            try await stack.git(["update-ref", "refs/heads/legacy", noName], in: work)
            try await stack.git(["update-ref", "refs/tags/v0.1", tag], in: work)
            // git itself flags each of them.
            let fsck = try await stack.tryGit(["fsck", "--strict"], in: work)
            #expect(!fsck.succeeded && fsck.error.contains("zeroPaddedFilemode") && fsck.error.contains("badTimezone"), "\(fsck.error)")

            let url = stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials)
            try await stack.git(["push", "--quiet", url, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"], in: work)

            let local = CairnStack.refs(try await stack.git(["show-ref"], in: work).output)
            let mirror = "\(stack.folder)/old-history-mirror"
            try await stack.git(["clone", "--quiet", "--mirror", stack.cloneURL(repository.fullName), mirror])
            let cloned = CairnStack.refs(try await stack.git(["show-ref"], in: mirror).output)
            #expect(cloned == local)
            #expect(cloned["refs/heads/legacy"] == noName && cloned["refs/tags/v0.1"] == tag)
            // The odd objects arrived byte for byte.
            #expect(try await stack.git(["cat-file", "-p", padded], in: mirror).output.contains("040000 tree \(inner)\told"))
            #expect(try await stack.git(["rev-list", "--objects", "--all"], in: mirror).output == (try await stack.git(["rev-list", "--objects", "--all"], in: work).output))
        }
    }

    @Test func test_aGitmodulesAttackIsStillRefused() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "attack")
            let work = try await stack.makeWorkingCopy("attack", commits: 1)
            let objects = OldObjects(stack: stack, work: work)
            let base = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
            // A submodule name that climbs out of .git/modules (CVE-2018-11235).
            let modules = try await objects.blob("[submodule \"../../modules/evil\"]\n\tpath = evil\n\turl = https://example.com/evil.git\n")
            let tree = try await objects.tree([("100644", ".gitmodules", modules)])
            let commit = try await objects.commit(tree: tree, parent: base, ident: "Mallory <m@example.com> 1700000000 +0000")
            try await stack.git(["update-ref", "refs/heads/main", commit], in: work)

            let refused = try await stack.git(["push", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work, expectFailure: true)
            #expect(refused.error.contains("gitmodulesName"), "\(refused.error)")
            #expect(try await stack.git(["ls-remote", stack.cloneURL(repository.fullName)]).output.isEmpty)
        }
    }

    /// A push the repository store refuses while the client is still sending (here: larger
    /// than the limit) is answered, and the gateway serves on.
    @Test func test_aPushRefusedBeforeItsBodyIsReadLeavesTheGatewayUp() async throws {
        try await CairnStack.with(overrides: ["CAIRN_REPOSTORE_MAX_PUSH_BYTES": "100000"]) { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "early")
            let work = try await stack.makeWorkingCopy("early", commits: 1)
            var noise = [UInt8](repeating: 0, count: 24 << 20)
            var generator = SystemRandomNumberGenerator()
            for index in stride(from: 0, to: noise.count, by: 8) {
                withUnsafeBytes(of: generator.next() as UInt64) { bytes in
                    for offset in 0..<8 { noise[index + offset] = bytes[offset] }
                }
            }
            try Data(noise).write(to: URL(fileURLWithPath: "\(work)/noise.bin"))
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "noise"], in: work)
            let url = stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials)
            for _ in 0..<3 {
                try await stack.git(["push", url, "main"], in: work, expectFailure: true)
                let health = try await HTTPClient.shared.execute(HTTPClientRequest(url: stack.gatewayURL + "/healthz"), timeout: .seconds(10))
                #expect(health.status == .ok)
            }
            // A push within the limit still works afterwards.
            try await stack.git(["reset", "--quiet", "--hard", "HEAD~1"], in: work)
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            #expect(try await stack.git(["ls-remote", stack.cloneURL(repository.fullName)]).output.contains("refs/heads/main"))
        }
    }
}

/// Writes objects exactly as given (`hash-object --literally`), the way old tools did.
private struct OldObjects {
    let stack: CairnStack
    let work: String

    func write(type: String, _ content: some DataProtocol) async throws -> String {
        let file = "\(stack.folder)/object-\(UUID().uuidString)"
        try Data(content).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try await stack.git(["hash-object", "--literally", "-t", type, "-w", file], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func write(type: String, _ text: String) async throws -> String { try await write(type: type, Data(text.utf8)) }

    func blob(_ text: String) async throws -> String { try await write(type: "blob", text) }

    /// A tree of `(mode, name, sha)` entries, written in the order given.
    func tree(_ entries: [(String, String, String)]) async throws -> String {
        var bytes = Data()
        for (mode, name, sha) in entries {
            bytes.append(contentsOf: Array("\(mode) \(name)".utf8) + [0])
            var hex = Substring(sha)
            while hex.count >= 2 {
                bytes.append(UInt8(hex.prefix(2), radix: 16) ?? 0)
                hex = hex.dropFirst(2)
            }
        }
        return try await write(type: "tree", bytes)
    }

    func commit(tree: String, parent: String, ident: String) async throws -> String {
        try await write(type: "commit", "tree \(tree)\nparent \(parent)\nauthor \(ident)\ncommitter \(ident)\n\nan old commit\n")
    }
}
