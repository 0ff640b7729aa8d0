import AsyncHTTPClient
import CairnProtocol
import CairnTestSupport
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The outages of DESIGN.md's table, drilled with the real binaries on a PostgreSQL and a
/// Redis of the drill's own: a push every half second to a repository whose webhook points at
/// a loopback receiver, anonymous page views alongside; Redis killed outright and restarted
/// after 5 s (or once ten page views were answered without it); PostgreSQL stopped in
/// immediate mode and started again; the repository store killed mid-push and restarted.
/// Afterwards every push git reported accepted produced exactly one signed delivery, the
/// repository is intact, no daemon exited on its own, and every page view during the Redis
/// outage was answered.
@Suite(.serialized, .timeLimit(.minutes(6))) struct FaultDrillTests {
    @Test func test_pushesAndPagesSurviveRedisPostgresAndRepositoryStoreOutages() async throws {
        try await HookReceiver.with { receiver, receiverURL in
            let drill = try await Drill.start()
            do {
                try await Self.run(drill, receiver: receiver, receiverURL: receiverURL)
                await drill.stopAll()
            } catch {
                await drill.stopAll()
                throw error
            }
        }
    }

    private static func run(_ drill: Drill, receiver: HookReceiver, receiverURL: String) async throws {
        do {
            let secret = "drill-secret"
            let (token, repositoryID) = try await drill.prepare(hookURL: receiverURL + "/ok", secret: secret)
            let work = try await drill.workingCopy()
            let pushURL = "http://drill:\(token)@127.0.0.1:\(drill.stack.port(.gateway))/drill/drilled.git"
            // Every other push goes over SSH, through cairn-sshd, with a key the drill user added.
            let sshURL = "ssh://git@127.0.0.1:\(drill.stack.json["sshd"]?["sshPort"] ?? "")/drill/drilled.git"
            let ssh = try await drill.addKey(token: token)
            let sshAccepted = Mutex(0)
            let pageURL = "http://127.0.0.1:\(drill.stack.port(.gateway))/drill/drilled"

            let record = DrillRecord()
            async let pushes: Void = {
                var number = 0
                while !record.isFinished {
                    number += 1
                    try "push \(number)\n".write(toFile: "\(work)/drill.txt", atomically: true, encoding: .utf8)
                    _ = try await Drill.git(["commit", "--quiet", "-am", "push \(number)"], in: work)
                    let sha = try await Drill.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
                    let overSSH = number % 2 == 0
                    let pushed = overSSH
                        ? try await Drill.git(["push", "--quiet", sshURL, "HEAD:main"], in: work, ssh: ssh)
                        : try await Drill.git(["push", "--quiet", pushURL, "HEAD:main"], in: work)
                    if overSSH && pushed.status == 0 { sshAccepted.withLock { $0 += 1 } }
                    record.push(sha: sha, accepted: pushed.status == 0, at: ContinuousClock.now - drill.began)
                    if pushed.status != 0 {
                        // The next push starts from what the server has, as a person would after a failure.
                        _ = try await Drill.git(["pull", "--quiet", "--rebase", pushURL, "main"], in: work)
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
            }()
            async let views: Void = {
                while !record.isFinished {
                    let status = try? await HTTPClient.shared.execute(HTTPClientRequest(url: pageURL), timeout: .seconds(10)).status.code
                    record.view(status: status.map { Int($0) }, redisDown: drill.redisDown.load(ordering: .relaxed))
                    try await Task.sleep(for: .milliseconds(100))
                }
            }()
            async let faults: Void = {
                // Pushes and views go on until the faults are over and a while after.
                defer { record.finish() }
                try await Task.sleep(for: .seconds(4))
                try await drill.killRedis()
                // Down for at least 5 s and until 10 page views were answered meanwhile (a
                // loaded machine answers fewer views in the same time), at most 20 s.
                let down = ContinuousClock.now
                while ContinuousClock.now - down < .seconds(5) || (record.viewsWhileRedisDown.count < 10 && ContinuousClock.now - down < .seconds(20)) {
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await drill.startRedis()
                try await Task.sleep(for: .seconds(4))
                try await drill.restartPostgresImmediately()
                try await Task.sleep(for: .seconds(5))
                try await drill.killRepositoryStoreMidPush()
                try await Task.sleep(for: .seconds(8))
            }()
            _ = try await (pushes, views, faults)

            let accepted = record.accepted
            #expect(accepted.count >= 10, "only \(accepted.count) pushes were accepted: \(record.summary)")
            #expect(sshAccepted.withLock { $0 } >= 3, "only \(sshAccepted.withLock { $0 }) pushes over SSH were accepted")
            // Every accepted push reaches the receiver once, signed. A delivery that failed through
            // the PostgreSQL restart waits out its backoff (1, 2, 4 … 64 s): on a loaded machine
            // the last can come after two minutes.
            let delivered = await eventually(timeout: .seconds(200)) {
                let afters = await receiver.requests(path: "/ok", event: "push").compactMap { $0.json["after"] as? String }
                return Set(accepted).isSubset(of: Set(afters))
            }
            let deliveries = await receiver.requests(path: "/ok", event: "push")
            let afters = deliveries.compactMap { $0.json["after"] as? String }
            let missing = accepted.filter { !afters.contains($0) }
            #expect(delivered && missing.isEmpty, "\(missing.count) accepted pushes produced no delivery: \(missing); \(record.summary)")
            let counts = Dictionary(afters.map { ($0, 1) }, uniquingKeysWith: +)
            let repeated = counts.filter { $0.value > 1 }
            #expect(repeated.isEmpty, "pushes delivered more than once: \(repeated)")
            #expect(deliveries.allSatisfy { $0.signatureMatches(secret: secret) })
            // The repository is whole.
            let fsck = try await Drill.git(["fsck", "--strict"], in: drill.stack.folder + "/repos/\(repositoryID).git")
            #expect(fsck.status == 0, "\(fsck.output)")
            // Pages were answered while Redis was away.
            let duringOutage = record.viewsWhileRedisDown
            #expect(duringOutage.count >= 10 && duringOutage.allSatisfy { $0 == 200 }, "views while Redis was down: \(duringOutage)")
            let caughtMidPush = drill.killedMidPush.load(ordering: .relaxed)
            #expect(caughtMidPush, "the repository store was never caught receiving a push")
            let killedAt = drill.repostoreKilledAt.withLock { $0 } ?? .zero
            #expect(record.rejected(within: killedAt - .seconds(1)...killedAt + .seconds(2)) >= 1, "the push in flight when the repository store was killed must fail for its client")
            // Every change a push made to `main` on the server (its reflog), accepted by the
            // client or not, produced a delivery: no push was forgotten.
            let reflog = try String(contentsOfFile: drill.stack.folder + "/repos/\(repositoryID).git/logs/refs/heads/main", encoding: .utf8)
            let serverTips = reflog.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
            #expect(serverTips.count >= accepted.count)
            #expect(serverTips.filter { !afters.contains($0) }.isEmpty, "ref changes with no delivery: \(serverTips.filter { !afters.contains($0) })")
            // No daemon exited on its own.
            for (daemon, process) in drill.processes { #expect(!processEnded(process.processIdentifier), "\(daemon.executable) exited: \(drill.stack.log(daemon).suffix(2000))") }
            let recovered = record.firstAcceptedAfter(drill.repostoreRestartedAt.withLock { $0 } ?? .zero)
            print("fault drill: \(record.summary), deliveries \(deliveries.count) for \(Set(afters).count) pushes, first push accepted \(recovered.map { "\($0)" } ?? "never") after the repository store restarted")
        }
    }
}

/// The drill's stores and daemons.
final class Drill: Sendable {
    let stack: LocalStack
    let postgres: PrivatePostgres
    let redis: PrivateRedis
    let data: String
    let redisDown = Atomic<Bool>(false)
    /// Whether the repository store was killed while git received a push.
    let killedMidPush = Atomic<Bool>(false)
    let repostoreRestartedAt = Mutex<Duration?>(nil)
    let repostoreKilledAt = Mutex<Duration?>(nil)
    private let daemons = Mutex<[Daemon: Process]>([:])
    /// When the drill began: the moments it records are measured from here.
    let began = ContinuousClock.now

    var processes: [Daemon: Process] { daemons.withLock { $0 } }

    private init(stack: LocalStack, postgres: PrivatePostgres, redis: PrivateRedis, data: String) {
        self.stack = stack
        self.postgres = postgres
        self.redis = redis
        self.data = data
    }

    /// A private PostgreSQL and Redis, migrated, and the six daemons on them.
    static func start() async throws -> Drill {
        let postgres = try PrivatePostgres()
        let redis = try PrivateRedis()
        try await postgres.start()
        try await redis.start()
        let data = TestEnvironment.required("TMP") + "/" + TestEnvironment.uniqueName("drill")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let stack = try LocalStack(portBase: 18300, extra: [
            "database": ["url": postgres.mainURL],
            "analytics": ["url": postgres.analyticsURL],
            "redis": ["url": redis.url],
            "webhooks": ["allowedNetworks": "127.0.0.0/8"],
            "worker": ["heartbeatSeconds": "5"],
        ])
        let drill = Drill(stack: stack, postgres: postgres, redis: redis, data: data)
        do {
            let migrated = try await drill.cairnctl(["migrate"])
            guard migrated.status == 0 else { throw TestFailure("migrate failed: \(migrated.output)") }
            for daemon in Daemon.allCases { try await drill.startDaemon(daemon) }
        } catch {
            await drill.stopAll()  // what did start must not hold the ports for the next run
            throw error
        }
        return drill
    }

    func startDaemon(_ daemon: Daemon) async throws {
        // Another stack's daemon left on this port would answer for ours.
        guard await stack.get(daemon, "/healthz") == nil else {
            throw TestFailure("port \(stack.port(daemon)) already answers: another \(daemon.executable) was left running")
        }
        let process = try stack.start(daemon)
        daemons.withLock { $0[daemon] = process }
        let ready = await eventually(timeout: .seconds(30)) { await self.stack.get(daemon, "/healthz") == 200 || processEnded(process.processIdentifier) }
        guard ready, !processEnded(process.processIdentifier) else { throw TestFailure("\(daemon.executable) did not start: \(stack.log(daemon).suffix(2000))") }
    }

    /// A user, a token, a repository and a webhook on it; returns the token and the repository id.
    func prepare(hookURL: String, secret: String) async throws -> (String, Int64) {
        let created = try await cairnctl(["user", "create", "--username", "drill", "--email", "drill@example.com"], input: "drill-password-123\n")
        guard created.status == 0 else { throw TestFailure("user create: \(created.output)") }
        let token = try await cairnctl(["token", "create", "--user", "drill", "--name", "drill", "--scopes", "repo:read,repo:write,admin"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let api = "http://127.0.0.1:\(stack.port(.gateway))/api/v3"
        let repository = try await Self.post("\(api)/user/repos", token: token, json: #"{"name": "drilled"}"#)
        let hook = #"{"config": {"url": "\#(hookURL)", "content_type": "json", "secret": "\#(secret)"}, "events": ["push"]}"#
        _ = try await Self.post("\(api)/repos/drill/drilled/hooks", token: token, json: hook)
        guard let id = repository["id"] as? Int else { throw TestFailure("no repository id in \(repository)") }
        return (token, Int64(id))
    }

    /// An ed25519 key made with ssh-keygen and added to the drill user's account; the
    /// `GIT_SSH_COMMAND` that uses it.
    func addKey(token: String) async throws -> String {
        let key = data + "/ssh-key"
        let made = try await runCommand("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])
        guard made.status == 0 else { throw TestFailure("ssh-keygen: \(made.output)") }
        let line = try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try await Self.post("http://127.0.0.1:\(stack.port(.gateway))/api/v3/user/keys", token: token, json: #"{"title": "drill", "key": "\#(line)"}"#)
        return "ssh -F /dev/null -i \(key) -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=6"
    }

    func cairnctl(_ arguments: [String], input: String = "") async throws -> (status: Int32, output: String) {
        try await runCommand(stack.bin + "/cairnctl", arguments, environment: ["CAIRN_CONFIG": stack.config], input: input)
    }

    func workingCopy() async throws -> String {
        let work = data + "/work"
        _ = try await Self.git(["init", "--quiet", "--initial-branch=main", work])
        try "start\n".write(toFile: "\(work)/drill.txt", atomically: true, encoding: .utf8)
        _ = try await Self.git(["add", "."], in: work)
        _ = try await Self.git(["commit", "--quiet", "-m", "start"], in: work)
        return work
    }

    func killRedis() async throws {
        redisDown.store(true, ordering: .relaxed)
        try await redis.kill()
    }

    func startRedis() async throws {
        try await redis.start()
        redisDown.store(false, ordering: .relaxed)
    }

    func restartPostgresImmediately() async throws {
        try await postgres.restartImmediately()
    }

    /// Waits until a push is being received (git's `receive-pack` runs under the repository
    /// store), kills the store outright, and starts it again.
    func killRepositoryStoreMidPush() async throws {
        guard let process = processes[.repostore] else { return }
        let caught = await eventually(timeout: .seconds(10)) {
            Self.descendants(of: process.processIdentifier).contains { pid in
                ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("receive-pack")
            }
        }
        kill(process.processIdentifier, SIGKILL)
        repostoreKilledAt.withLock { $0 = ContinuousClock.now - began }
        _ = await eventually(timeout: .seconds(10)) { processEnded(process.processIdentifier) }
        killedMidPush.store(caught, ordering: .relaxed)
        try await startDaemon(.repostore)
        repostoreRestartedAt.withLock { $0 = ContinuousClock.now - began }
    }

    /// Every process below `pid`, read from /proc (each thread lists the children it made).
    private static func descendants(of pid: Int32) -> [Int32] {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let children = threads.flatMap { thread in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int32($0) }
        }
        return children + children.flatMap { descendants(of: $0) }
    }

    func stopAll() async {
        for process in processes.values where !processEnded(process.processIdentifier) { kill(process.processIdentifier, SIGKILL) }
        await redis.remove()
        await postgres.remove()
        try? FileManager.default.removeItem(atPath: data)
    }

    /// Runs git with no user configuration, giving up on a server silent for 30 s; returns
    /// its status and output.
    /// `ssh`: the `GIT_SSH_COMMAND` for SSH remotes.
    static func git(_ arguments: [String], in directory: String? = nil, ssh: String? = nil) async throws -> (status: Int32, output: String) {
        try await runCommand(
            "git",
            ["-c", "credential.helper=", "-c", "user.name=Drill", "-c", "user.email=drill@example.com", "-c", "http.lowSpeedLimit=1", "-c", "http.lowSpeedTime=30"]
                + arguments,
            in: directory,
            environment: ["GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"].merging(ssh.map { ["GIT_SSH_COMMAND": $0] } ?? [:]) { $1 })
    }

    private static func post(_ url: String, token: String, json: String) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "token \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(response.status.code), let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
            throw TestFailure("POST \(url) answered \(response.status.code): \(String(buffer: body))")
        }
        return object
    }
}

/// What the drill saw: each push's commit and whether git reported it accepted; each page
/// view's status and whether Redis was down at the time.
final class DrillRecord: Sendable {
    private let pushes = Mutex<[(sha: String, accepted: Bool, at: Duration)]>([])
    private let views = Mutex<[(status: Int?, redisDown: Bool)]>([])

    private let finished = Mutex(false)

    func push(sha: String, accepted: Bool, at: Duration) { pushes.withLock { $0.append((sha, accepted, at)) } }
    /// The faults are over: pushes and views stop.
    func finish() { finished.withLock { $0 = true } }
    var isFinished: Bool { finished.withLock { $0 } }
    func view(status: Int?, redisDown: Bool) { views.withLock { $0.append((status, redisDown)) } }

    var accepted: [String] { pushes.withLock { $0.filter(\.accepted).map(\.sha) } }
    /// Pushes that failed for their client and ended within `window` of the drill's start.
    func rejected(within window: ClosedRange<Duration>) -> Int { pushes.withLock { $0.filter { !$0.accepted && window.contains($0.at) }.count } }
    var viewsWhileRedisDown: [Int?] { views.withLock { $0.filter(\.redisDown).map(\.status) } }

    func firstAcceptedAfter(_ moment: Duration) -> Duration? {
        pushes.withLock { $0.first { $0.accepted && $0.at > moment }.map { $0.at - moment } }
    }

    var summary: String {
        let (pushCount, acceptedCount) = pushes.withLock { ($0.count, $0.filter(\.accepted).count) }
        let (viewCount, answered) = views.withLock { ($0.count, $0.filter { $0.status == 200 }.count) }
        return "\(acceptedCount) of \(pushCount) pushes accepted, \(answered) of \(viewCount) page views answered 200"
    }
}
