import Synchronization

/// Copies of cached pages and fragments in this gateway's memory, in front of Redis: a hit
/// costs neither a round trip nor moving the bytes (a highlighted file's page is megabytes).
/// Every key names what it shows by the cache version of its repository or user and the
/// templates' fingerprint, so a copy is never stale while it is kept; it is kept for
/// `lifetime` at most (a flushed Redis is caught up with within it). Bounded by the bytes
/// held: past `byteLimit` the expired copies go first, then any, until a quarter is free.
final class LocalCopies: Sendable {
    /// A kept value: text (a fragment) or bytes (a compressed page).
    enum Value: Sendable {
        case text(String)
        case bytes([UInt8])

        var size: Int {
            switch self {
            case .text(let text): text.utf8.count
            case .bytes(let bytes): bytes.count
            }
        }
    }

    private struct State: ~Copyable {
        var values: [String: (value: Value, until: ContinuousClock.Instant)] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    private let lifetime: Duration
    private let byteLimit: Int

    init(lifetime: Duration = .seconds(30), byteLimit: Int = 64 << 20) {
        self.lifetime = lifetime
        self.byteLimit = byteLimit
    }

    /// The copy under `key`, if one is kept and fresh.
    func value(_ key: String) -> Value? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let kept = state.values[key], kept.until > now else { return nil }
            return kept.value
        }
    }

    /// Keeps `value` under `key` for the lifetime (or less: `lifetime`, when the original
    /// lives shorter). A value larger than a quarter of the limit is not kept.
    func keep(_ key: String, _ value: Value, lifetime: Duration? = nil) {
        let size = value.size + key.utf8.count
        guard size <= byteLimit / 4 else { return }
        let now = ContinuousClock.now
        let until = now + min(lifetime ?? self.lifetime, self.lifetime)
        state.withLock { state in
            if let old = state.values.removeValue(forKey: key) { state.bytes -= old.value.size + key.utf8.count }
            if state.bytes + size > byteLimit { Self.evict(&state, now: now, target: byteLimit * 3 / 4 - size) }
            state.values[key] = (value, until)
            state.bytes += size
        }
    }

    /// The bytes held now (keys and values).
    var byteCount: Int { state.withLock { $0.bytes } }

    /// Drops the expired copies, then others, until `target` bytes or fewer are held: the
    /// keys picked in one pass over the table, then removed.
    private static func evict(_ state: inout State, now: ContinuousClock.Instant, target: Int) {
        var dropped: [String] = []
        var freed = 0
        for (key, kept) in state.values where kept.until <= now {
            dropped.append(key)
            freed += kept.value.size + key.utf8.count
        }
        if state.bytes - freed > target {
            for (key, kept) in state.values where kept.until > now {
                dropped.append(key)
                freed += kept.value.size + key.utf8.count
                if state.bytes - freed <= target { break }
            }
        }
        for key in dropped { state.values[key] = nil }
        state.bytes -= freed
    }
}
