import CairnProtocol
import CairnRedis
import Foundation
import Logging

/// Turns what a push's hook recorded into a `repo.push` event and a `push` task, and points
/// HEAD at a branch that exists after a repository's first push.
struct PushRecorder: Sendable {
    let events: EventPublisher
    let tasks: ReliableQueue
    /// Where each push's task waits until Redis has it.
    let spool: PushSpool
    let maintenance: ReliableQueue
    /// At most one maintenance run per repository in this time.
    var maintenanceInterval: Duration = .seconds(300)
    let locator: RepositoryLocator
    let git: Git

    func record(repository: Int64, pusher: Int64?, log path: String, logger: Logger) async {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let updates = text.split(whereSeparator: \.isNewline).compactMap { RefUpdate(hookLine: $0) }
        guard !updates.isEmpty else { return }
        await fixHead(repository: repository, updates: updates, logger: logger)
        let refs = JSONValue.array(updates.map { .object(["old": .string($0.old), "new": .string($0.new), "ref": .string($0.ref)]) })
        var args: [String: JSONValue] = ["repository_id": .number(Double(repository)), "updates": refs]
        if let pusher { args["pusher_id"] = .number(Double(pusher)) }
        await hand(TaskEnvelope(kind: "push", args: .object(args)), repository: repository, logger: logger)
        let commits = await commitsPushed(repository: repository, updates: updates) ?? 0
        events.emit(EventEnvelope(type: "repo.push", repoID: repository, actor: pusher, data: .object(["refs": refs, "commits": .number(Double(commits))])))
        await scheduleMaintenance(repository, logger: logger)
        logger.info("repository.pushed", metadata: ["repo.id": "\(repository)", "push.refs": "\(updates.count)"])
    }

    /// Spools the push's task, then gives it to Redis; if Redis does not take it, the relay
    /// sends it later.
    private func hand(_ task: TaskEnvelope, repository: Int64, logger: Logger) async {
        do {
            try spool.hold(task)
        } catch {
            // The refs are already updated; without the spool the task rests on Redis alone.
            logger.critical("push.spool_failed", metadata: ["repo.id": "\(repository)", "task.id": "\(task.id)", "error": "\(error)"])
        }
        do {
            try await tasks.enqueue(task)
            spool.sent(task.id)
        } catch {
            spool.unsent(task.id)
            logger.warning("push.task_spooled", metadata: ["repo.id": "\(repository)", "task.id": "\(task.id)", "error": "\(error)"])
        }
    }

    /// Queues a `repo.maintenance` task unless one was queued for this repository recently.
    private func scheduleMaintenance(_ repository: Int64, logger: Logger) async {
        let throttle = "\(maintenance.keys.namespace):maintenance-throttle:\(repository)"
        do {
            let seconds = String(maintenanceInterval.components.seconds)
            guard try await maintenance.redis.send("SET", throttle, "1", "NX", "EX", seconds).string == "OK" else { return }
            try await maintenance.enqueue(TaskEnvelope(kind: "repo.maintenance", args: .object(["repository_id": .number(Double(repository))])))
        } catch {
            logger.warning("repository.maintenance_not_scheduled", metadata: ["repo.id": "\(repository)", "error": "\(error)"])
        }
    }

    /// A clone or fetch that transferred objects; `visitor` is the gateway's analytics id of the caller.
    func recordFetch(repository: Int64, user: Int64?, visitor: String?) {
        let valid = visitor.flatMap { $0.count <= 64 && $0.allSatisfy(\.isHexDigit) ? $0 : nil }
        events.emit(EventEnvelope(type: "repo.clone", repoID: repository, actor: user, visitor: valid))
    }

    /// How many commits the push brought that no ref had before: reachable from the new tips,
    /// not from the old tips nor from any ref the push left alone. Nil if git cannot say.
    private func commitsPushed(repository: Int64, updates: [RefUpdate]) async -> Int? {
        let tips = updates.map(\.new).filter { $0 != RefUpdate.zero }
        guard !tips.isEmpty else { return 0 }
        let olds = updates.map(\.old).filter { $0 != RefUpdate.zero }
        let arguments = ["rev-list", "--count"] + tips + ["--not"] + olds + updates.map { "--exclude=\($0.ref)" } + ["--glob=refs/*"]
        return (try? await git.run(arguments, in: locator.path(for: repository))).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// After the first push HEAD may name a branch that does not exist (`main` by default):
    /// point it at `main` if that was pushed, else at the first branch pushed.
    private func fixHead(repository: Int64, updates: [RefUpdate], logger: Logger) async {
        let path = locator.path(for: repository)
        guard let head = try? await git.run(["symbolic-ref", "--quiet", "HEAD"], in: path).trimmingCharacters(in: .whitespacesAndNewlines) else { return }
        if (try? await git.run(["rev-parse", "--verify", "--quiet", "\(head)^{commit}"], in: path)) != nil { return }
        let branches = updates.filter { $0.ref.hasPrefix("refs/heads/") && $0.new != RefUpdate.zero }.map(\.ref)
        guard let chosen = branches.first(where: { $0 == "refs/heads/main" }) ?? branches.first else { return }
        do {
            try await git.run(["symbolic-ref", "HEAD", chosen], in: path)
        } catch {
            logger.warning("repository.head_update_failed", metadata: ["repo.id": "\(repository)", "error": "\(error)"])
        }
    }
}
