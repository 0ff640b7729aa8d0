public import CairnRedis
import Foundation

/// The site's read-only switch, in Redis (`<namespace>:switch:readonly`, holding the message
/// shown to users): `cairnctl readonly on|off` and the admin switches page flip it, every
/// gateway sees it within `cacheFor`, with no restart. While it is on, every write is refused
/// with 503 and the message, and every page shows it.
public final class ReadOnlySwitch: Sendable {
    public let redis: RedisClient
    public let key: String
    /// The switch as last read, reused for a second or so.
    private let cache: CachedRead<String?>

    /// The message when none is given.
    public static let defaultMessage = "Cairn is in read-only mode for maintenance: you can browse and clone, but changes are refused until it ends."

    public init(redis: RedisClient, namespace: String, cacheFor: Duration = .seconds(1)) {
        self.redis = redis
        self.key = "\(namespace):switch:readonly"
        self.cache = CachedRead(nil, lifetime: cacheFor)
    }

    /// Turns read-only mode on with `message` (or the default one).
    public func turnOn(message: String?) async throws {
        let text = message?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        try await redis.send("SET", key, text.isEmpty ? Self.defaultMessage : String(text.prefix(500)))
        cache.forget()
    }

    public func turnOff() async throws {
        try await redis.send("DEL", key)
        cache.forget()
    }

    /// The message while read-only mode is on, nil while it is off. Asks Redis at most once
    /// per `cacheFor`; when Redis does not answer, the last answer stands.
    public func message() async -> String? {
        await cache.value { try await currentMessage() }
    }

    /// The message as Redis holds it now (no cache); throws when Redis does not answer.
    public func currentMessage() async throws -> String? {
        try await redis.send("GET", key).string
    }

    /// The last answer `message()` had, without asking (for rendering a banner).
    public var lastKnownMessage: String? { cache.last }
}
