import CairnProtocol
import Foundation
import Synchronization

/// Accepted pushes, on disk until Redis has their `push` task: the `reference-transaction`
/// hook writes each push's committed ref changes (`<root>/.spool/push/<push id>.<pid>.push`,
/// see `HookInstaller`), synced, before git reports them; the store turns them into a task
/// when the push ends,
/// and `PushSpoolRelay` sends what is left (Redis was away, or the store stopped between
/// the two). A task's id is its push's id, and the worker runs an id once, so a record sent
/// twice does nothing twice.
final class PushSpool: Sendable {
    let folder: String
    /// Pushes still being received or handed on by their request: the relay leaves those alone.
    private let inFlight = Mutex<Set<String>>([])

    init(root: String) throws {
        folder = root + "/.spool/push"
        // The records name the refs of private repositories.
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Marks push `id` in flight until `release`.
    func claim(_ id: String) {
        inFlight.withLock { _ = $0.insert(id) }
    }

    /// The push's request is done with it: a record still here is the relay's to send.
    func release(_ id: String) {
        inFlight.withLock { _ = $0.remove(id) }
    }

    /// Redis has the push's task: its records go.
    func remove(_ id: String) {
        for file in files(of: id) { try? FileManager.default.removeItem(atPath: "\(folder)/\(file)") }
    }

    /// The push's task, from the records its hook wrote (one a ref transaction); nil when
    /// there are none (the push changed no ref) or one cannot be read.
    func task(_ id: String) -> PushTask? {
        task(id, files: files(of: id))
    }

    /// Pushes no request is handing on, oldest first; pushes whose records cannot be read
    /// are reported by id, not sent.
    func waiting() -> (tasks: [PushTask], unreadable: [String]) {
        // Listed before the in-flight set is read: a push that starts in between is then
        // either not listed yet or already marked.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let busy = inFlight.withLock { $0 }
        let byPush = Dictionary(grouping: names.filter { $0.hasSuffix(".push") }) { String($0.prefix { $0 != "." }) }
        var tasks: [PushTask] = []
        var unreadable: [String] = []
        for (id, files) in byPush where !busy.contains(id) {
            if let task = task(id, files: files) { tasks.append(task) } else { unreadable.append(id) }
        }
        return (tasks.sorted { $0.recordedAt < $1.recordedAt }, unreadable)
    }

    /// The records of push `id`: `<id>.<pid>.push`.
    private func files(of id: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix(id + ".") && $0.hasSuffix(".push") }
    }

    private func task(_ id: String, files: [String]) -> PushTask? {
        var updates: [RefUpdate] = []
        var header: PushTask?
        for file in files.sorted() {
            let path = "\(folder)/\(file)"
            // Gone since it was listed: sent by the push's own request meanwhile.
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            let made = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
            guard let part = PushTask(id: id, record: String(decoding: data, as: UTF8.self), recordedAt: made) else { return nil }
            if let earliest = header, earliest.recordedAt <= made {} else { header = part }
            updates += part.updates
        }
        guard let header else { return nil }
        return PushTask(id: id, repository: header.repository, pusher: header.pusher, updates: updates, recordedAt: header.recordedAt)
    }

    /// How many pushes wait, and since when the oldest does.
    func backlog() -> PushSpoolBacklog {
        let tasks = waiting().tasks
        return PushSpoolBacklog(waiting: tasks.count, oldest: tasks.first?.recordedAt)
    }

}

/// One push as its hook recorded it.
struct PushTask: Sendable {
    let id: String
    let repository: Int64
    let pusher: Int64?
    let updates: [RefUpdate]
    let recordedAt: Date

    init(id: String, repository: Int64, pusher: Int64?, updates: [RefUpdate], recordedAt: Date) {
        self.id = id
        self.repository = repository
        self.pusher = pusher
        self.updates = updates
        self.recordedAt = recordedAt
    }

    /// Reads `repository <id>`, `pusher <id or ->`, then git's `<old> <new> <ref>` lines.
    init?(id: String, record: String, recordedAt: Date) {
        var lines = record.split(whereSeparator: \.isNewline)[...]
        guard let first = lines.popFirst(), first.hasPrefix("repository "), let repository = Int64(first.dropFirst(11)),
              let second = lines.popFirst(), second.hasPrefix("pusher ")
        else { return nil }
        self.id = id
        self.repository = repository
        self.pusher = Int64(second.dropFirst(7))
        // A ref transaction also lists HEAD when it moves the branch HEAD names.
        self.updates = lines.compactMap { RefUpdate(hookLine: $0) }.filter { $0.ref.hasPrefix("refs/") }
        self.recordedAt = recordedAt
    }

    /// The `push` task the worker runs for it.
    var envelope: TaskEnvelope {
        let refs = JSONValue.array(updates.map { .object(["old": .string($0.old), "new": .string($0.new), "ref": .string($0.ref)]) })
        var args: [String: JSONValue] = ["repository_id": .number(Double(repository)), "updates": refs]
        if let pusher { args["pusher_id"] = .number(Double(pusher)) }
        return TaskEnvelope(kind: "push", args: .object(args), id: id, enqueuedAt: recordedAt)
    }
}
