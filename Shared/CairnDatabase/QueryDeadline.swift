import Synchronization

/// How long a statement may take to start answering before its caller is told PostgreSQL
/// does not answer (`QueryDeadlineExceeded`), whatever happens to the statement itself.
///
/// PostgresNIO can lose a statement written to a connection that closed a moment before (a
/// server restarted in immediate mode): the statement's promise is never completed, and a
/// future cannot be cancelled, so without this the request would wait forever. The lost
/// statement is left behind, cancelled; the caller goes on.
public enum QueryDeadline {
    /// The limit for statements run by this task, when it sets one (`$override.withValue`).
    @TaskLocal public static var override: Duration?

    private static let processLimit = Mutex<Duration>(.seconds(10))

    /// Sets the limit for the whole process (10 s unless set): `cairnctl`, whose commands
    /// may rightly run long statements, raises it at start.
    public static func setProcessLimit(_ limit: Duration) {
        processLimit.withLock { $0 = limit }
    }

    /// The limit in force for this task.
    public static var limit: Duration { override ?? processLimit.withLock { $0 } }

    /// `body`'s result, or `QueryDeadlineExceeded` once `limit` has passed without one.
    static func answer<T>(_ sql: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let limit = Self.limit
        let race = Race<Handed<T>>()
        // The caller's cancellation is not passed on, as PostgresNIO does not heed it either:
        // a statement under way finishes (a transaction is not cut short), or the deadline ends the wait.
        return try await withCheckedThrowingContinuation { continuation in
            // Both tasks inherit this task's locals (request timings, replica routing).
            let work = Task {
                do {
                    race.finish(with: .success(Handed(value: try await body())))
                } catch {
                    race.finish(with: .failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled else { return }
                race.finish(with: .failure(QueryDeadlineExceeded(sql: sql, limit: limit)))
            }
            race.start(continuation, work: work, timer: timer)
        }.value
    }

    /// A result handed once from the task that made it to the one awaiting it.
    private struct Handed<T>: @unchecked Sendable {
        let value: T
    }

    /// The one answer of a statement or its timer, whichever comes first; the other is cancelled.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var tasks: [Task<Void, Never>] = []
            var result: Result<T, any Error>?
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<T, any Error>, work: Task<Void, Never>, timer: Task<Void, Never>) {
            let early = state.withLock { state -> Result<T, any Error>? in
                guard state.result == nil else { return state.result }
                state.continuation = continuation
                state.tasks = [work, timer]
                return nil
            }
            if let early {
                work.cancel()
                timer.cancel()
                continuation.resume(with: early)
            }
        }

        func finish(with result: Result<T, any Error>) {
            let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
                guard state.result == nil else { return (nil, []) }
                state.result = result
                defer { state.continuation = nil; state.tasks = [] }
                return (state.continuation, state.tasks)
            }
            for task in tasks { task.cancel() }
            continuation?.resume(with: result)
        }
    }
}

/// A statement that did not start answering within `QueryDeadline.limit`.
public struct QueryDeadlineExceeded: Error, CustomStringConvertible {
    public let sql: String
    public let limit: Duration
    public var description: String { "PostgreSQL did not answer within \(limit): \(sql.prefix(200))" }
}
