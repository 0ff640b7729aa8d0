public import CairnProtocol

/// The code for one kind of task. Handlers must be idempotent: a task may be delivered again
/// after a crash, and the runner skips only those it saw finish.
public protocol TaskHandler: Sendable {
    /// The `kind` of the envelopes this handler takes.
    var kind: String { get }
    /// How long one try may take before it counts as failed.
    var timeLimit: Duration { get }
    func handle(_ task: TaskEnvelope) async throws
}

/// A task whose arguments are not what its handler needs: retrying will not help.
struct MalformedTask: Error, CustomStringConvertible {
    let description: String
}

extension TaskEnvelope {
    /// The repository id in `args.repository_id`, or a `MalformedTask` error.
    func repositoryID() throws -> Int64 {
        guard let number = args["repository_id"]?.numberValue, number > 0 else {
            throw MalformedTask(description: "\(kind) task \(id) has no repository_id")
        }
        return Int64(number)
    }
}
