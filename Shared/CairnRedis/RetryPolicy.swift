/// How often a failed task is tried again, and how long it waits in between:
/// exponential backoff with jitter, capped.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included; after the last a task is dead-lettered.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 5, baseDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(600)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The wait before the try that follows failed try number `attempt` (0-based):
    /// `base × 2^attempt`, capped at `maxDelay`, then a random 50–100 % of that so that
    /// tasks failing together do not come back together.
    public func delay(afterAttempt attempt: Int) -> Duration {
        let exponential = baseDelay * (1 << min(attempt, 30))
        let capped = min(exponential, maxDelay)
        return capped * Double.random(in: 0.5...1.0)
    }
}
