import CairnModel
import CairnProtocol
import CairnTestSupport
import Foundation
import NIOHTTP1
import CairnService
import CairnDatabase
import Testing

@Suite(.timeLimit(.minutes(5))) struct GitOverHTTPTests {
    @Test func test_pushedHistoryClonesBackWithEveryRefAndPassesFsck() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "history")
            let work = try await stack.makeWorkingCopy("history", commits: 5)
            try await stack.git(["branch", "feature"], in: work)
            try await stack.git(["tag", "v1.0"], in: work)
            try await stack.git(["tag", "-a", "v1.1", "-m", "annotated"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "--all"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "--tags"], in: work)

            let local = CairnStack.refs(try await stack.git(["show-ref", "--head", "--dereference"], in: work).output)
            let remote = CairnStack.refs(try await stack.git(["ls-remote", stack.cloneURL(repository.fullName)]).output)
            for ref in ["refs/heads/main", "refs/heads/feature", "refs/tags/v1.0", "refs/tags/v1.1", "refs/tags/v1.1^{}"] {
                #expect(remote[ref] == local[ref], "\(ref)")
            }
            #expect(remote["HEAD"] == local["refs/heads/main"])

            let clone = "\(stack.folder)/history-clone"
            try await stack.git(["clone", "--quiet", "--mirror", stack.cloneURL(repository.fullName), clone])
            try await stack.git(["fsck", "--strict"], in: clone)
            let cloned = CairnStack.refs(try await stack.git(["show-ref", "--dereference"], in: clone).output)
            for ref in ["refs/heads/main", "refs/heads/feature", "refs/tags/v1.0", "refs/tags/v1.1"] { #expect(cloned[ref] == local[ref]) }

            // A second push arrives with a fetch.
            try "more\n".write(toFile: "\(work)/more.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "second push"], in: work)
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.passwordCredentials), "main"], in: work)
            try await stack.git(["fetch", "--quiet"], in: clone)
            let head = try await stack.git(["rev-parse", "HEAD"], in: work).output
            #expect(try await stack.git(["rev-parse", "refs/heads/main"], in: clone).output == head)
        }
    }

    @Test func test_protocolV0ClonesToo() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "old-protocol")
            let work = try await stack.makeWorkingCopy("v0")
            try await stack.git(["-c", "protocol.version=0", "push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work)
            try await stack.git(["-c", "protocol.version=0", "clone", "--quiet", stack.cloneURL(repository.fullName), "\(stack.folder)/v0-clone"])
            #expect(FileManager.default.fileExists(atPath: "\(stack.folder)/v0-clone/file3.txt"))
        }
    }

    @Test func test_concurrentPushesRejectOneAsNonFastForwardAndCorruptNothing() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "race")
            let url = stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials)
            let base = try await stack.makeWorkingCopy("race-base", commits: 1)
            try await stack.git(["push", "--quiet", url, "main"], in: base)
            var clones: [String] = []
            for n in 0..<2 {
                let clone = "\(stack.folder)/race-\(n)"
                try await stack.git(["clone", "--quiet", url, clone])
                try "clone \(n)\n".write(toFile: "\(clone)/mine.txt", atomically: true, encoding: .utf8)
                try await stack.git(["add", "."], in: clone)
                try await stack.git(["commit", "--quiet", "-m", "from clone \(n)"], in: clone)
                clones.append(clone)
            }
            let results = try await withThrowingTaskGroup(of: GitResult.self) { group in
                for clone in clones { group.addTask { try await stack.tryGit(["push", url, "main"], in: clone) } }
                return try await group.reduce(into: [GitResult]()) { $0.append($1) }
            }
            #expect(results.filter(\.succeeded).count == 1)
            let loser = try #require(results.first { !$0.succeeded })
            #expect(loser.error.contains("rejected") || loser.error.contains("non-fast-forward") || loser.error.contains("failed to update ref") || loser.error.contains("cannot lock ref"), "\(loser.error)")
            let mirror = "\(stack.folder)/race-mirror"
            try await stack.git(["clone", "--quiet", "--mirror", url, mirror])
            try await stack.git(["fsck", "--strict"], in: mirror)
            let winner = try await stack.git(["rev-parse", "main"], in: mirror).output
            let heads = try await [stack.git(["rev-parse", "HEAD"], in: clones[0]).output, stack.git(["rev-parse", "HEAD"], in: clones[1]).output]
            #expect(heads.contains(winner))
        }
    }

    @Test func test_privateRepositoryIsInvisibleToOutsiders() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let eve = try await stack.makeUser("eve")
            let repository = try await stack.makeRepository(ada, "secret", isPrivate: true)
            let work = try await stack.makeWorkingCopy("secret")
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work)

            // Anonymous: asked to authenticate, exactly as for a name that does not exist.
            let anonymous = try await stack.git(["ls-remote", stack.cloneURL(repository.fullName)], expectFailure: true)
            let missing = try await stack.git(["ls-remote", stack.cloneURL("ada/never-existed")], expectFailure: true)
            #expect(anonymous.error.contains("terminal prompts disabled") || anonymous.error.contains("Authentication failed"))
            #expect(missing.error.contains("terminal prompts disabled") || missing.error.contains("Authentication failed"))
            // A signed-in outsider: not found, by clone and by ls-remote.
            let outsider = try await stack.git(["clone", stack.cloneURL(repository.fullName, credentials: eve.tokenCredentials), "\(stack.folder)/stolen"], expectFailure: true)
            #expect(outsider.error.contains("not found") || outsider.error.contains("404"))
            try await stack.git(["ls-remote", stack.cloneURL(repository.fullName, credentials: eve.passwordCredentials)], expectFailure: true)
            // Every API route answers 404.
            for path in ["/api/v3/repos/ada/secret", "/api/v3/repos/ada/secret/collaborators", "/api/v3/repos/ada/secret/collaborators/eve"] {
                #expect(try await stack.api(.GET, path, as: eve).0 == 404, "\(path)")
                #expect(try await stack.api(.GET, path).0 == 404, "\(path) anonymous")
            }
            #expect(try await stack.api(.PATCH, "/api/v3/repos/ada/secret", as: eve, json: #"{"private": false}"#).0 == 404)
            #expect(try await stack.api(.DELETE, "/api/v3/repos/ada/secret", as: eve).0 == 404)
            let listing = try await stack.api(.GET, "/api/v3/users/ada/repos", as: eve).1
            #expect(!listing.contains("secret"))
            // The owner sees it.
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/secret", as: ada).0 == 200)
            try await stack.git(["clone", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.passwordCredentials), "\(stack.folder)/mine"])
        }
    }

    @Test func test_readCollaboratorAndReadOnlyTokenCannotPushAndRevokedTokenIsRefused() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let repository = try await stack.makeRepository(ada, "guarded", isPrivate: true)
            let work = try await stack.makeWorkingCopy("guarded")
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work)

            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/guarded/collaborators/bob", as: ada, json: #"{"permission": "pull"}"#).0 == 204)
            try await stack.git(["ls-remote", stack.cloneURL(repository.fullName, credentials: bob.tokenCredentials)])
            let refused = try await stack.git(["push", stack.cloneURL(repository.fullName, credentials: bob.tokenCredentials), "main:refs/heads/bob"], in: work, expectFailure: true)
            #expect(refused.error.contains("403"))

            // A token with repo:read only reads.
            let readOnly = try await stack.tokens.create(userID: ada.user.id, name: "ci", scopes: [.repoRead]).secret
            try await stack.git(["ls-remote", stack.cloneURL(repository.fullName, credentials: "ada:\(readOnly)")])
            let tokenRefused = try await stack.git(["push", stack.cloneURL(repository.fullName, credentials: "ada:\(readOnly)"), "main:refs/heads/ci"], in: work, expectFailure: true)
            #expect(tokenRefused.error.contains("403"))

            // Promoted to write, bob can push.
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/guarded/collaborators/bob", as: ada, json: #"{"permission": "push"}"#).0 == 204)
            try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: bob.tokenCredentials), "main:refs/heads/bob"], in: work)

            // A revoked token is refused outright.
            let tokens = try await stack.tokens.list(userID: bob.user.id)
            try await stack.tokens.revoke(id: tokens[0].id, userID: bob.user.id)
            let revoked = try await stack.git(["ls-remote", stack.cloneURL(repository.fullName, credentials: bob.tokenCredentials)], expectFailure: true)
            #expect(revoked.error.contains("Authentication failed") || revoked.error.contains("401") || revoked.error.contains("terminal prompts disabled"))
            #expect(try await stack.api(.GET, "/api/v3/user", token: bob.token).0 == 401)
        }
    }

    @Test func test_malformedPktLinesAndTruncatedPacksAreRefusedWithoutHarm() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "sturdy")
            let work = try await stack.makeWorkingCopy("sturdy")
            let url = stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials)
            try await stack.git(["push", "--quiet", url, "main"], in: work)
            let before = try await stack.git(["ls-remote", url]).output

            let auth = [("Authorization", "token \(ada.token)")]
            var statuses: [(Int, String)] = []
            for body in ["zzzz-not-a-pkt-line", "0032want 0000000000000000000000000000000000000000\n", "00ff" + String(repeating: "x", count: 10)] {
                statuses.append(try await stack.rawAnswer(.POST, "/ada/sturdy.git/git-upload-pack", body: body, headers: auth + [("Content-Type", "application/x-git-upload-pack-request")]))
            }
            let head = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
            let truncatedPack = "00a0\(RefUpdate.zero) \(head) refs/heads/evil\0 report-status\n0000PACK\0\0\0\u{2}\0\0\0\u{5}garbage"
            statuses.append(try await stack.rawAnswer(.POST, "/ada/sturdy.git/git-receive-pack", body: truncatedPack, headers: auth + [("Content-Type", "application/x-git-receive-pack-request")]))
            // git's smart HTTP answers 200 before the command reads the request; what follows
            // says what went wrong, and never carries objects or accepts the ref.
            #expect(statuses.map(\.0) == [200, 200, 200, 200], "\(statuses)")
            #expect(statuses[1].1.contains("ERR upload-pack: not our ref 0000000000000000000000000000000000000000"), "\(statuses[1].1)")
            #expect(statuses.allSatisfy { !$0.1.contains("PACK") && !$0.1.contains("ok refs/heads/evil") }, "\(statuses)")

            #expect(try await stack.git(["ls-remote", url]).output == before)
            let mirror = "\(stack.folder)/sturdy-mirror"
            try await stack.git(["clone", "--quiet", "--mirror", url, mirror])
            try await stack.git(["fsck", "--strict"], in: mirror)
        }
    }
}
