import Synchronization

/// A value read from a store on the request path, reused for `lifetime` before the store is
/// asked again; when the store does not answer, the last value stands. Run-time switches
/// (read-only mode, feature flags) are read from Redis through one, and the status page's
/// daemon health likewise, so asking costs nothing on most requests.
public final class CachedRead<Value: Sendable>: Sendable {
    public let lifetime: Duration
    private let state: Mutex<(asked: ContinuousClock.Instant?, value: Value)>

    public init(_ initial: Value, lifetime: Duration) {
        self.lifetime = lifetime
        self.state = Mutex((nil, initial))
    }

    /// The cached value, or `read()`'s when the cache is older than `lifetime`.
    public func value(_ read: () async throws -> Value) async -> Value {
        let now = ContinuousClock.now
        let cached = state.withLock { $0 }
        if let asked = cached.asked, now - asked < lifetime { return cached.value }
        guard let fresh = try? await read() else { return cached.value }
        state.withLock { $0 = (now, fresh) }
        return fresh
    }

    /// The last value read, without asking.
    public var last: Value { state.withLock { $0.value } }

    /// Makes the next `value` ask the store (after this process changed the value).
    public func forget() { state.withLock { $0.asked = nil } }
}
