/// Runs one piece of work per key at a time: a caller that finds a run for its key under way
/// waits for it instead of starting another. The S3 backend uses it so that concurrent
/// uploads of the same content send the object once (several PUTs of one key at once are
/// wasted work, and some S3-compatible stores fail all but one of them).
actor SingleFlight {
    private var running: [String: Task<Bool, any Error>] = [:]

    /// `work`'s result, or false when another run for `key` finished successfully while this
    /// caller waited (the work is then done already). A run that failed does not count: the
    /// caller then runs `work` itself.
    func run(_ key: String, _ work: @escaping @Sendable () async throws -> Bool) async throws -> Bool {
        while let existing = running[key] {
            if (try? await existing.value) != nil { return false }
            if running[key] == existing { running[key] = nil }
        }
        let task = Task { try await work() }
        running[key] = task
        defer { if running[key] == task { running[key] = nil } }
        return try await task.value
    }
}
