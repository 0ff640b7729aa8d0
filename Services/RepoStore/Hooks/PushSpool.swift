import CairnProtocol
import Foundation
import Glibc
import Synchronization

/// Accepted pushes' `push` tasks, kept on disk (`<root>/.spool/push/<task id>.json`) from
/// before git reports success until Redis has them, so that no push is forgotten while
/// Redis is away or the repository store restarts. `PushSpoolRelay` sends what is left.
///
/// Each file is written whole and synced (file, rename, folder), so after a crash a task is
/// either there complete or not there at all. A task is sent at least once; its id is fixed
/// when it is spooled, and the worker runs an id once, so a resent task does nothing twice.
final class PushSpool: Sendable {
    let folder: String
    /// Tasks whose push is still sending them itself: the relay leaves those alone.
    private let inFlight = Mutex<Set<String>>([])

    init(root: String) throws {
        folder = root + "/.spool/push"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    /// Writes `task` durably and marks it in flight until `sent` or `unsent`.
    func hold(_ task: TaskEnvelope) throws {
        inFlight.withLock { _ = $0.insert(task.id) }
        do {
            try writeDurably(Array(try CairnJSON.encode(task)), to: path(task.id))
        } catch {
            unsent(task.id)
            throw error
        }
    }

    /// Redis has the task: its file goes.
    func sent(_ id: String) {
        _ = unlink(path(id))
        unsent(id)
    }

    /// Sending failed: the file stays for the relay.
    func unsent(_ id: String) {
        inFlight.withLock { _ = $0.remove(id) }
    }

    /// Spooled tasks no push is sending, oldest first; unreadable files are reported, not sent.
    func waiting() -> (tasks: [TaskEnvelope], unreadable: [String]) {
        let busy = inFlight.withLock { $0 }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var found: [(Date, TaskEnvelope)] = []
        var unreadable: [String] = []
        for name in names where name.hasSuffix(".json") && !busy.contains(String(name.dropLast(5))) {
            let file = "\(folder)/\(name)"
            guard let data = FileManager.default.contents(atPath: file), let task = try? CairnJSON.decode(TaskEnvelope.self, from: data) else {
                unreadable.append(file)
                continue
            }
            found.append((task.enqueuedAt, task))
        }
        return (found.sorted { $0.0 < $1.0 }.map(\.1), unreadable)
    }

    /// How many tasks wait, and since when the oldest does.
    func backlog() -> PushSpoolBacklog {
        let tasks = waiting().tasks
        return PushSpoolBacklog(waiting: tasks.count, oldest: tasks.first?.enqueuedAt)
    }

    private func path(_ id: String) -> String { "\(folder)/\(id).json" }

    /// Temporary file, `fsync`, rename over the name, `fsync` of the folder: Foundation's
    /// atomic write does not sync, so this is written out by hand.
    private func writeDurably(_ bytes: [UInt8], to destination: String) throws {
        let temporary = destination + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError.io("open \(temporary)", errno) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                buffer.baseAddress.map { write(fd, $0 + written, buffer.count - written) } ?? 0
            }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                let code = errno
                close(fd)
                throw SpoolError.io("write \(temporary)", code)
            }
            written += result
        }
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd)
            throw SpoolError.io("fsync \(temporary)", code)
        }
        close(fd)
        guard rename(temporary, destination) == 0 else { throw SpoolError.io("rename \(temporary)", errno) }
        let directory = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw SpoolError.io("open \(folder)", errno) }
        defer { close(directory) }
        guard fsync(directory) == 0 else { throw SpoolError.io("fsync \(folder)", errno) }
    }

    enum SpoolError: Error, CustomStringConvertible {
        case io(String, Int32)

        var description: String {
            switch self {
            case .io(let what, let code): "\(what): \(String(cString: strerror(code)))"
            }
        }
    }
}
