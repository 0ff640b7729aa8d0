/// Runs `body`, failing with `TimeLimitExceeded` naming `what` once `limit` has passed.
/// Used for readiness probes and for each try of a background task.
public func withTimeLimit(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withTimeLimit(limit, what, returning: body)
}

/// Runs `body` and returns its result, failing with `TimeLimitExceeded` naming `what` once
/// `limit` has passed (`body` is cancelled then: a subprocess it runs is killed).
public func withTimeLimit<Result: Sendable>(_ limit: Duration, _ what: String, returning body: @escaping @Sendable () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeLimitExceeded(what: what, limit: limit)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else { throw TimeLimitExceeded(what: what, limit: limit) }
        return result
    }
}

/// Something took longer than it was allowed.
public struct TimeLimitExceeded: Error, CustomStringConvertible {
    public let what: String
    public let limit: Duration
    public var description: String { "\(what) took longer than \(limit)" }
}
