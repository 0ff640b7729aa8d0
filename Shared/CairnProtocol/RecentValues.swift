import Synchronization

/// Values worked out lately, kept for `lifetime`: what is costly to work out and the same
/// each time for a while (a session cookie's verified payload, a session's CSRF token).
/// Bounded: past `limit` entries it starts over.
public final class RecentValues<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let values = Mutex<[Key: (value: Value, until: ContinuousClock.Instant)]>([:])
    private let lifetime: Duration
    private let limit: Int

    public init(lifetime: Duration, limit: Int = 10_000) {
        self.lifetime = lifetime
        self.limit = limit
    }

    /// The value for `key`, made by `make` when there is none still fresh; nil (and not
    /// kept) when `make` gives nil.
    public func value(_ key: Key, make: () -> Value?) -> Value? {
        let now = ContinuousClock.now
        if let kept = values.withLock({ $0[key] }), kept.until > now { return kept.value }
        guard let made = make() else { return nil }
        values.withLock { values in
            if values.count >= limit { values.removeAll(keepingCapacity: true) }
            values[key] = (made, now + lifetime)
        }
        return made
    }

    /// The value for `key` if one is still fresh.
    public func kept(_ key: Key) -> Value? {
        let now = ContinuousClock.now
        guard let kept = values.withLock({ $0[key] }), kept.until > now else { return nil }
        return kept.value
    }

    /// Keeps `value` for `key` for `lifetime`.
    public func keep(_ key: Key, _ value: Value) {
        let until = ContinuousClock.now + lifetime
        values.withLock { values in
            if values.count >= limit { values.removeAll(keepingCapacity: true) }
            values[key] = (value, until)
        }
    }

    /// Drops the value for `key`, if any.
    public func forget(_ key: Key) {
        _ = values.withLock { $0.removeValue(forKey: key) }
    }

    /// Drops the values that `shouldRemove` picks.
    public func remove(where shouldRemove: (Value) -> Bool) {
        values.withLock { values in values = values.filter { !shouldRemove($0.value.value) } }
    }
}
