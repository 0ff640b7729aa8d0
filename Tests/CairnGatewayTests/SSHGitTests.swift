import CairnModel
import CairnProtocol
import CairnService
@testable import CairnSSHD
import CairnTestSupport
import Foundation
import NIOHTTP1
import NIOSSH
import Subprocess
import SystemPackage
import Testing

/// Git over SSH with the real OpenSSH client against `cairn-sshd`: keys added through the API,
/// permissions as over HTTP, pushes recorded as HTTP pushes are, LFS through an SSH remote.
@Suite("Git over SSH", .timeLimit(.minutes(6)))
struct SSHGitTests {
    /// A key pair of `type` in the stack's folder, added over the API to `path`
    /// (`/user/keys`, or a repository's `/repos/…/keys` with `readOnly`): the private key's path.
    static func addKey(_ stack: CairnStack, _ user: TestUser, type: String = "ed25519", path: String = "/api/v3/user/keys", readOnly: Bool? = nil) async throws -> String {
        let made = try await SSHKeyTests.keygen(stack.folder, type, bits: type == "ecdsa" ? 256 : nil)
        let line = made.line.trimmingCharacters(in: .newlines)
        let extra = readOnly.map { #", "read_only": \#($0)"# } ?? ""
        let (status, text) = try await stack.api(.POST, path, as: user, json: #"{"title": "key", "key": "\#(line)"\#(extra)}"#)
        guard status == 201 else { throw TestFailure("adding a key answered \(status): \(text)") }
        return made.path
    }

    /// `GIT_SSH_COMMAND` for `key`: OpenSSH with no configuration but this key, trusting the
    /// test server's host key.
    static func ssh(_ key: String) -> [String: String] {
        ["GIT_SSH_COMMAND": sshCommand(key).joined(separator: " ")]
    }

    static func sshCommand(_ key: String) -> [String] {
        ["ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20"]
    }

    static func url(_ stack: CairnStack, _ fullName: String) -> String { "ssh://git@127.0.0.1:\(stack.configuration.ssh.port)/\(fullName).git" }

    /// The arguments of `ssh` with `arguments` after the host (or, with `before`, as options before it).
    static func sshArguments(_ stack: CairnStack, key: String, _ arguments: [String], before: Bool = false) -> [String] {
        let target = ["-p", String(stack.configuration.ssh.port), "git@127.0.0.1"]
        return Array(sshCommand(key).dropFirst()) + (before ? arguments + target : target + arguments)
    }

    /// Runs `ssh … command` for `body`, with the test's ends of its standard input and output;
    /// killed when `body` ends. Through Subprocess, never Foundation's Process: OpenSSH closes
    /// every inherited descriptor at start, which Foundation takes for its exit (and then waits
    /// for it on its one thread, stopping every other Process of the test run).
    static func withSSH<T: Sendable>(
        _ stack: CairnStack, key: String, _ command: String,
        _ body: @escaping @Sendable (_ session: SSHSessionEnds) async throws -> T
    ) async throws -> T {
        let input = try FileDescriptor.pipe()
        let output = try FileDescriptor.pipe()
        defer {
            try? input.writeEnd.close()
            try? output.readEnd.close()
        }
        let result = try await Subprocess.run(
            .path(FilePath("/usr/bin/ssh")), arguments: Arguments(sshArguments(stack, key: key, [command])),
            input: .fileDescriptor(input.readEnd, closeAfterSpawningProcess: true), output: .fileDescriptor(output.writeEnd, closeAfterSpawningProcess: true),
            error: .discarded
        ) { execution in
            let pid = execution.processIdentifier.value
            defer { kill(pid, SIGKILL) }
            return try await body(SSHSessionEnds(input: input.writeEnd, output: output.readEnd, pid: pid))
        }
        return result.closureResult
    }

    /// The test's ends of a running `ssh`.
    struct SSHSessionEnds: Sendable {
        let input: FileDescriptor
        let output: FileDescriptor
        let pid: pid_t

        func write(_ text: String) throws { _ = try input.writeAll(Array(text.utf8)) }

        /// Reads on a thread of its own (a blocking read on one of the two cooperative threads
        /// would stop every daemon of the test process) until `enough` says so or the output
        /// ends; past `limit` ssh is killed, which ends the output, and the read fails.
        func read(within limit: Duration, until enough: @escaping @Sendable ([UInt8]) -> Bool) async throws -> [UInt8] {
            let (output, pid) = (output, pid)
            let killer = Task {
                try await Task.sleep(for: limit)
                kill(pid, SIGKILL)
            }
            let data = await withCheckedContinuation { continuation in
                Thread {
                    var received: [UInt8] = []
                    var chunk = [UInt8](repeating: 0, count: 65536)
                    while !enough(received) {
                        let count = (try? chunk.withUnsafeMutableBytes { try output.read(into: $0) }) ?? 0
                        if count <= 0 { break }
                        received += chunk[..<count]
                    }
                    continuation.resume(returning: received)
                }.start()
            }
            killer.cancel()
            if case .success = await killer.result { throw TestFailure("ssh's output did not come within \(limit)") }
            return data
        }
    }

    /// Runs `ssh` to its end (stopped after a minute): its status, standard error and output.
    static func runSSH(_ stack: CairnStack, key: String, _ arguments: [String], before: Bool = false, options: [String] = []) async throws -> (status: Int32, error: String, output: String) {
        let all = Arguments(options + sshArguments(stack, key: key, arguments, before: before))
        return try await withTimeLimit(.seconds(60), "ssh \(arguments.joined(separator: " "))", returning: {
            let result = try await Subprocess.run(.path(FilePath("/usr/bin/ssh")), arguments: all, input: .none, output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            let status: Int32 = if case .exited(let code) = result.terminationStatus { code } else { -1 }
            return (status, result.standardError, result.standardOutput)
        })
    }

    @Test("clone, fetch and push over SSH; pushes are recorded as over HTTP; a shell is refused by name")
    func cloneFetchPush() async throws {
        try await CairnStack.with(sshd: true) { stack in
            let ada = try await stack.makeUser("ada")
            let (_, _, head) = try await stack.makePushedRepository(ada, "tool", isPrivate: true, commits: 2)
            let key = try await Self.addKey(stack, ada)
            let env = Self.ssh(key)

            let copy = "\(stack.folder)/copy"
            try await stack.git(["clone", "--quiet", Self.url(stack, "ada/tool"), copy], environment: env)
            #expect(try await stack.git(["rev-parse", "HEAD"], in: copy).output.hasPrefix(head))
            // ls-remote with protocol v2 (`GIT_PROTOCOL` travels as an SSH env request).
            let listed = try await stack.git(["ls-remote", Self.url(stack, "ada/tool")], environment: env).output
            #expect(CairnStack.refs(listed)["refs/heads/main"] == head)

            try "over ssh\n".write(toFile: "\(copy)/ssh.txt", atomically: true, encoding: .utf8)
            try await stack.git(["add", "."], in: copy)
            try await stack.git(["commit", "--quiet", "-m", "by ssh"], in: copy)
            try await stack.git(["push", "--quiet", "origin", "main", "main:refs/heads/topic"], in: copy, environment: env)
            let pushed = try await stack.git(["rev-parse", "HEAD"], in: copy).output.trimmingCharacters(in: .whitespacesAndNewlines)
            // Over HTTP, the same repository now has the commit on both branches.
            let overHTTP = CairnStack.refs(try await stack.git(["ls-remote", stack.cloneURL("ada/tool", credentials: ada.tokenCredentials)]).output)
            #expect(overHTTP["refs/heads/main"] == pushed && overHTTP["refs/heads/topic"] == pushed)
            // The push became a repo.push event acting for ada, as an HTTP push does.
            let pushEvent: @Sendable () async throws -> Bool = {
                try await stack.redisList("\(stack.configuration.redisNamespace):events").contains {
                    $0.contains("\"repo.push\"") && $0.contains(pushed) && $0.contains("\"actor\":\(ada.user.id)")
                }
            }
            #expect(await eventually(timeout: .seconds(10)) { (try? await pushEvent()) == true })

            // A fetch into the first working copy brings the pushed commit.
            let work = "\(stack.folder)/tool"
            try await stack.git(["fetch", "--quiet", Self.url(stack, "ada/tool"), "main"], in: work, environment: env)
            #expect(try await stack.git(["rev-parse", "FETCH_HEAD"], in: work).output.hasPrefix(pushed))
            // The clone and the fetch count as fetches, with a visitor id; the ls-remote does not.
            let clones: @Sendable () async throws -> [String] = {
                try await stack.redisList("\(stack.configuration.redisNamespace):events").filter { $0.contains("\"repo.clone\"") }
            }
            #expect(await eventually(timeout: .seconds(10)) { (try? await clones().count) == 2 })
            #expect(try await clones().count == 2)
            #expect(try await clones().allSatisfy { $0.contains("\"visitor\":\"") && $0.contains("\"actor\":\(ada.user.id)") })

            // The key's last use is recorded; a shell is refused, naming the user.
            let used = try await SSHKeyStore(client: stack.database, logger: TestEnvironment.logger).list(.user(ada.user.id))
            #expect(used.first?.lastUsedAt != nil)
            let shell = try await Self.runSSH(stack, key: key, [])
            #expect(shell.status == 1 && shell.error.contains("Hi ada! You've authenticated, but Cairn does not provide shell access."), "\(shell)")
            let other = try await Self.runSSH(stack, key: key, ["ls", "-la"])
            #expect(other.status == 1 && other.error.contains("Cairn runs git-upload-pack, git-receive-pack and git-lfs-authenticate here, not ls"), "\(other)")
            // GIT_PROTOCOL passes on when it is git's words, and is ignored (protocol v0) when not:
            // it becomes a header on the way to the store.
            let v2 = try await Self.runSSH(stack, key: key, ["git-upload-pack 'ada/tool.git'"], options: ["-o", "SetEnv=GIT_PROTOCOL=version=2"])
            #expect(v2.output.contains("version 2"), "\(v2)")
            let junk = try await Self.runSSH(stack, key: key, ["git-upload-pack 'ada/tool.git'"], options: ["-o", "SetEnv=GIT_PROTOCOL=\"version=2 X-Cairn-User:1\""])
            #expect(!junk.output.contains("version 2") && junk.output.contains("refs/heads/main"), "\(junk)")
            let escape = try await Self.runSSH(stack, key: key, ["git-upload-pack", "'../../etc'"])
            #expect(escape.status == 1 && escape.error.contains("name a repository as owner/name"), "\(escape)")
        }
    }

    @Test("unknown keys, other people's keys, readers' pushes, read-only mode, protected branches and deploy keys are held as over HTTP")
    func refusals() async throws {
        try await CairnStack.with(sshd: true) { stack in
            let ada = try await stack.makeUser("ada")
            let bob = try await stack.makeUser("bob")
            let eve = try await stack.makeUser("eve")
            try await stack.makePushedRepository(ada, "secret", isPrivate: true)
            let (_, work, _) = try await stack.makePushedRepository(ada, "open")
            try await stack.makePushedRepository(ada, "other", isPrivate: true)
            #expect(try await stack.api(.PUT, "/api/v3/repos/ada/open/collaborators/bob", as: ada, json: #"{"permission": "pull"}"#).0 == 204)
            let bobKey = try await Self.addKey(stack, bob, type: "ecdsa")
            let eveKey = try await Self.addKey(stack, eve)
            let adaKey = try await Self.addKey(stack, ada)

            // A key nobody added: OpenSSH's own refusal.
            let strangerKey = try await SSHKeyTests.keygen(stack.folder, "ed25519").path
            let refused = try await stack.git(["ls-remote", Self.url(stack, "ada/open")], environment: Self.ssh(strangerKey), expectFailure: true)
            #expect(refused.error.contains("Permission denied (publickey)"), "\(refused.error)")

            // Another person's key: a private repository does not exist for them.
            let hidden = try await stack.git(["ls-remote", Self.url(stack, "ada/secret")], environment: Self.ssh(eveKey), expectFailure: true)
            #expect(hidden.error.contains("cairn: Repository not found: ada/secret"), "\(hidden.error)")
            let missing = try await stack.git(["ls-remote", Self.url(stack, "ada/never")], environment: Self.ssh(eveKey), expectFailure: true)
            #expect(missing.error.contains("cairn: Repository not found: ada/never"))
            // The repository's page gives the SSH clone URL beside the HTTP one.
            let (pageStatus, page) = try await stack.api(.GET, "/ada/open")
            #expect(pageStatus == 200 && page.contains("value=\"\(Self.url(stack, "ada/open"))\""))
            // A reader may clone but not push.
            try await stack.git(["ls-remote", Self.url(stack, "ada/open")], environment: Self.ssh(bobKey))
            let reader = try await stack.git(["push", Self.url(stack, "ada/open"), "main:refs/heads/bob"], in: work, environment: Self.ssh(bobKey), expectFailure: true)
            #expect(reader.error.contains("You may read ada/open but not push to it"), "\(reader.error)")

            // Read-only mode refuses pushes with its message, and lets clones through.
            #expect(try await stack.cairnctl(["readonly", "on", "--message", "Moving disks tonight"]).status == 0)
            let paused = try await stack.git(["push", Self.url(stack, "ada/open"), "main:refs/heads/paused"], in: work, environment: Self.ssh(adaKey), expectFailure: true)
            #expect(paused.error.contains("Moving disks tonight"), "\(paused.error)")
            try await stack.git(["ls-remote", Self.url(stack, "ada/open")], environment: Self.ssh(adaKey))
            #expect(try await stack.cairnctl(["readonly", "off"]).status == 0)
            // Daemons read the switch at most once a second (`ReadOnlySwitch.cacheFor`).
            try await Task.sleep(for: .milliseconds(1500))

            // A protected branch holds over SSH: no force push.
            _ = try await ProtectedBranchTests.protect(stack, ada, "ada/open/branches/main", #"{\#(ProtectedBranchTests.off), "enforce_admins": true}"#)
            try await stack.git(["commit", "--quiet", "--amend", "-m", "rewritten"], in: work)
            let forced = try await stack.git(["push", "--force", Self.url(stack, "ada/open"), "main"], in: work, environment: Self.ssh(adaKey), expectFailure: true)
            #expect(forced.error.contains("main is protected"), "\(forced.error)")

            // A read-only deploy key reads its repository only, and cannot push.
            let readKey = try await Self.addKey(stack, ada, path: "/api/v3/repos/ada/secret/keys", readOnly: true)
            try await stack.git(["ls-remote", Self.url(stack, "ada/secret")], environment: Self.ssh(readKey))
            let elsewhere = try await stack.git(["ls-remote", Self.url(stack, "ada/other")], environment: Self.ssh(readKey), expectFailure: true)
            #expect(elsewhere.error.contains("Repository not found: ada/other"))
            let readOnlyPush = try await stack.git(["push", Self.url(stack, "ada/secret"), "HEAD:refs/heads/deploy"], in: work, environment: Self.ssh(readKey), expectFailure: true)
            #expect(readOnlyPush.error.contains("This deploy key is read-only"), "\(readOnlyPush.error)")
            // A writable one pushes to its repository.
            let writeKey = try await Self.addKey(stack, ada, path: "/api/v3/repos/ada/secret/keys", readOnly: false)
            try await stack.git(["push", "--quiet", Self.url(stack, "ada/secret"), "HEAD:refs/heads/deploy"], in: work, environment: Self.ssh(writeKey))
            let shell = try await Self.runSSH(stack, key: writeKey, [])
            #expect(shell.error.contains("Hi ada/secret!"), "\(shell)")
            let lfsElsewhere = try await Self.runSSH(stack, key: readKey, ["git-lfs-authenticate", "ada/open", "download"])
            #expect(lfsElsewhere.status == 1 && lfsElsewhere.error.contains("A deploy key reaches LFS objects of its own repository only"), "\(lfsElsewhere)")

            // A connection kept open (OpenSSH's ControlMaster) does not outlive its key.
            let control = NSTemporaryDirectory() + "cm-\(UUID().uuidString.prefix(8))"
            let master = try await Subprocess.run(
                .path(FilePath("/usr/bin/ssh")), arguments: Arguments(Self.sshArguments(stack, key: eveKey, ["-M", "-N", "-f", "-o", "ControlPath=\(control)"], before: true)),
                input: .none, output: .discarded, error: .discarded)
            #expect(master.terminationStatus.isSuccess)
            var shared = Self.ssh(eveKey)
            shared["GIT_SSH_COMMAND"]! += " -o ControlMaster=no -o ControlPath=\(control)"
            try await stack.git(["ls-remote", Self.url(stack, "ada/open")], environment: shared)
            let eveKeys = try PullRequestTests.list(try await stack.api(.GET, "/api/v3/user/keys", as: eve).1)
            let eveKeyID = try #require(eveKeys.first?["id"] as? Int)
            #expect(try await stack.api(.DELETE, "/api/v3/user/keys/\(eveKeyID)", as: eve).0 == 204)
            let stale = try await stack.git(["ls-remote", Self.url(stack, "ada/open")], environment: shared, expectFailure: true)
            #expect(stale.error.contains("this key is no longer known"), "\(stale.error)")
            _ = try await Self.runSSH(stack, key: eveKey, ["-O", "exit", "-o", "ControlPath=\(control)"], before: true)
        }
    }

    @Test("git lfs through an SSH remote: git-lfs-authenticate hands out a credential the LFS API takes, for that repository only")
    func lfsOverSSH() async throws {
        try await CairnStack.with(sshd: true) { stack in
            let ada = try await stack.makeUser("ada")
            try await stack.makeRepository(ada, "media", isPrivate: true)
            try await stack.makeRepository(ada, "elsewhere", isPrivate: true)
            let key = try await Self.addKey(stack, ada)
            let env = Self.ssh(key)
            let work = "\(stack.folder)/media"
            try await stack.git(["init", "--quiet", work])
            try await stack.git(["lfs", "install", "--local"], in: work)
            try await stack.git(["lfs", "track", "*.bin"], in: work)
            let bytes = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: 300_000)
            try bytes.write(to: URL(fileURLWithPath: "\(work)/asset.bin"))
            try await stack.git(["add", "."], in: work)
            try await stack.git(["commit", "--quiet", "-m", "asset"], in: work)
            try await stack.git(["push", "--quiet", Self.url(stack, "ada/media"), "main"], in: work, environment: env)

            let copy = "\(stack.folder)/copy"
            try await stack.git(["clone", "--quiet", Self.url(stack, "ada/media"), copy], environment: env)
            try await stack.git(["lfs", "install", "--local"], in: copy)
            try await stack.git(["lfs", "pull"], in: copy, environment: env)
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(copy)/asset.bin")) == bytes)

            // The credential itself: the answer git-lfs reads, good for this repository alone.
            let answer = try await Self.lfsAuthenticate(stack, key: key, "ada/media", "download")
            let href = try #require(answer["href"] as? String)
            #expect(href == "\(stack.gatewayURL)/ada/media.git/info/lfs" && (answer["expires_in"] as? Int ?? 0) > 0)
            let authorization = try #require((answer["header"] as? [String: String])?["Authorization"])
            let batch = #"{"operation": "download", "objects": []}"#
            #expect(try await stack.api(.POST, "/ada/media.git/info/lfs/objects/batch", json: batch, headers: [("Authorization", authorization)]).0 == 200)
            #expect(try await stack.api(.POST, "/ada/elsewhere.git/info/lfs/objects/batch", json: batch, headers: [("Authorization", authorization)]).0 == 404)
            // A download credential does not upload; a tampered one is refused.
            let upload = #"{"operation": "upload", "objects": [{"oid": "\#(String(repeating: "a", count: 64))", "size": 1}]}"#
            #expect(try await stack.api(.POST, "/ada/media.git/info/lfs/objects/batch", json: upload, headers: [("Authorization", authorization)]).0 == 403)
            #expect(try await stack.api(.POST, "/ada/media.git/info/lfs/objects/batch", json: batch, headers: [("Authorization", authorization + "x")]).0 == 401)
            // It is good for the LFS API only: not the REST API, nor git over HTTP.
            #expect(try await stack.api(.GET, "/api/v3/repos/ada/media", headers: [("Authorization", authorization)]).0 == 403)
            #expect(try await stack.api(.GET, "/ada/media.git/info/refs?service=git-upload-pack", headers: [("Authorization", authorization)]).0 == 403)
        }
    }

    /// Runs `git-lfs-authenticate` over SSH and reads its JSON answer.
    static func lfsAuthenticate(_ stack: CairnStack, key: String, _ repository: String, _ operation: String) async throws -> [String: Any] {
        let answer = try await runSSH(stack, key: key, ["git-lfs-authenticate", repository, operation])
        return try #require(try JSONSerialization.jsonObject(with: Data(answer.output.utf8)) as? [String: Any], "\(answer)")
    }

    @Test("a dozen SSH sessions at once each reach git at once: none waits for another's connection to the store")
    func concurrentSessions() async throws {
        try await CairnStack.with(sshd: true) { stack in
            let ada = try await stack.makeUser("ada")
            let (_, _, head) = try await stack.makePushedRepository(ada, "tool")
            let key = try await Self.addKey(stack, ada)
            // Every session gets its refs while all twelve stay open (each holds on until all have theirs).
            let holding = Box(0)
            let lock = NSLock()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await Self.withSSH(stack, key: key, "git-upload-pack 'ada/tool.git'") { session in
                            let refs = try await session.read(within: .seconds(30)) { $0.suffix(4).elementsEqual(Array("0000".utf8)) }
                            #expect(String(decoding: refs, as: UTF8.self).contains("\(head) refs/heads/main"))
                            lock.withLock { holding.value += 1 }
                            #expect(await eventually(timeout: .seconds(30)) { lock.withLock { holding.value } == 12 })
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("a session that moves nothing either way for sshd.idleSeconds is ended, and its git with it")
    func idleSessions() async throws {
        try await CairnStack.with(sshd: true, overrides: ["CAIRN_SSHD_IDLE_SECONDS": "3"]) { stack in
            let ada = try await stack.makeUser("ada")
            let (repository, _, head) = try await stack.makePushedRepository(ada, "tool")
            let key = try await Self.addKey(stack, ada)
            let path = stack.repositoryPath(repository.id)
            try await Self.withSSH(stack, key: key, "git-upload-pack 'ada/tool.git'") { session in
                // The refs come; then the client says nothing, and neither does git, waiting for it.
                let refs = try await session.read(within: .seconds(30)) { $0.suffix(4).elementsEqual(Array("0000".utf8)) }
                #expect(String(decoding: refs, as: UTF8.self).contains(head))
                let rest = try await session.read(within: .seconds(30)) { _ in false }
                #expect(rest.isEmpty, "the session should end with no more output")
            }
            #expect(await eventually(timeout: .seconds(20)) { Self.uploadPacks(serving: path).isEmpty })
        }
    }

    @Test("a dropped SSH connection leaves no git process behind")
    func droppedConnection() async throws {
        try await CairnStack.with(sshd: true) { stack in
            let ada = try await stack.makeUser("ada")
            let (repository, head) = try await stack.makeLargeRepository(ada, "large")
            let key = try await Self.addKey(stack, ada)

            // A v0 fetch that wants everything, read only a little, then the client killed.
            let path = stack.repositoryPath(repository.id)
            try await Self.withSSH(stack, key: key, "git-upload-pack 'ada/large.git'") { session in
                try session.write("0032want \(head)\n00000009done\n")
                let first = try await session.read(within: .seconds(30)) { !$0.isEmpty }
                #expect(!first.isEmpty)
                #expect(await eventually(timeout: .seconds(30)) { !Self.uploadPacks(serving: path).isEmpty }, "git should be sending the pack")
            }
            #expect(await eventually(timeout: .seconds(20)) { Self.uploadPacks(serving: path).isEmpty }, "\(Self.uploadPacks(serving: path))")
        }
    }

    /// The git processes serving the repository at `path`: `upload-pack` names it on its command
    /// line, and what it starts (`pack-objects`) works in it.
    static func uploadPacks(serving path: String) -> [String] {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return processes.filter { $0.allSatisfy(\.isNumber) }.filter { pid in
            guard let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
            return (command.contains("upload-pack") && command.contains(path)) || command.hasPrefix("git\u{0}pack-objects") && DisconnectTests.works(pid, in: path)
        } + DisconnectTests.gitProcesses(in: path)
    }

    @Test("the host key is made once and kept; a file that is not one is refused, not replaced")
    func hostKey() throws {
        let folder = NSTemporaryDirectory() + "cairn-hostkey-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/ssh/host_key"
        let first = try HostKey.load(at: path)
        let again = try HostKey.load(at: path)
        #expect(first.publicKey == again.publicKey)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try "not a key".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: HostKeyError.self) { try HostKey.load(at: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "not a key")
    }

    @Test("git's commands are read without a shell: quoting, paths and refusals")
    func commands() throws {
        let clone = try GitCommand("git-upload-pack '/ada/tool.git'")
        #expect(clone.service == .uploadPack && clone.owner == "ada" && clone.name == "tool")
        let push = try GitCommand("git-receive-pack 'ada/tool'")
        #expect(push.service == .receivePack && push.name == "tool")
        let lfs = try GitCommand("git-lfs-authenticate ada/media.git upload")
        #expect(lfs.operation == "upload" && lfs.name == "media")
        for refused in ["", "sh -c id", "git-upload-pack", "git-upload-pack '../x'", "git-upload-pack 'a/b/c'", "git-upload-pack 'ada/tool",
                        "git-upload-pack 'ada/tool' ; rm -rf /", "git-lfs-authenticate ada/media delete", "git-upload-pack 'ada/\u{0}x'",
                        "git-lfs-transfer ada/media download"] {
            #expect(throws: GitCommand.Refusal.self, "\(refused)") { try GitCommand(refused) }
        }
    }
}
