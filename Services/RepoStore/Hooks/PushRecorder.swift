import CairnProtocol
import CairnRedis
import Foundation
import Logging

/// Turns what a push's hook recorded (in the `PushSpool`) into a `push` task and a
/// `repo.push` event, and points HEAD at a branch that exists after a repository's first push.
struct PushRecorder: Sendable {
    let events: EventPublisher
    let tasks: ReliableQueue
    /// Where each push's record waits until Redis has its task.
    let spool: PushSpool
    let maintenance: ReliableQueue
    /// At most one maintenance run per repository in this time.
    var maintenanceInterval: Duration = .seconds(300)
    let locator: RepositoryLocator
    let git: Git

    /// Hands on push `id` once its request is done: fixes HEAD after a first push, gives
    /// its task to Redis (the record stays in the spool for the relay if Redis does not take
    /// it), and emits its event. A push that changed no ref has no record and does nothing.
    func record(push id: String, logger: Logger) async {
        guard let push = spool.task(id), !push.updates.isEmpty else { return }
        await fixHead(repository: push.repository, updates: push.updates, logger: logger)
        do {
            try await tasks.enqueue(push.envelope)
            spool.remove(id)
        } catch {
            logger.warning("push.task_spooled", metadata: ["repo.id": "\(push.repository)", "task.id": "\(id)", "error": "\(error)"])
        }
        let refs = JSONValue.array(push.updates.map { .object(["old": .string($0.old), "new": .string($0.new), "ref": .string($0.ref)]) })
        let commits = await commitsPushed(repository: push.repository, updates: push.updates) ?? 0
        events.emit(EventEnvelope(type: "repo.push", repoID: push.repository, actor: push.pusher, data: .object(["refs": refs, "commits": .number(Double(commits))])))
        await scheduleMaintenance(push.repository, logger: logger)
        logger.info("repository.pushed", metadata: ["repo.id": "\(push.repository)", "push.refs": "\(push.updates.count)"])
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
