import CairnModel
import CairnRedis
import Logging

/// Rendered page fragments in Redis, keyed by what they show, the cache version of the
/// repository or user they come from (a bump of the version retires them all) and the
/// fingerprint of the templates that rendered them (`PageRenderer.fingerprint`). A Redis failure only
/// means rendering again: it never fails the page. With the `fragment-cache` flag off,
/// every fragment is rendered afresh. What is read or stored is also kept in this gateway's
/// memory for a while (`LocalCopies`), so a page viewed often costs no Redis read.
struct FragmentCache: Sendable {
    let redis: RedisClient
    let namespace: String
    let flags: FeatureFlags
    let logger: Logger
    /// How long an unused fragment stays.
    var lifetime = 86_400
    /// The copies in memory.
    var local = LocalCopies()

    /// The fragment under `key`, rendering and storing it when missing; it stays for
    /// `lifetime` seconds (default: `self.lifetime`) after it was stored.
    func fetch(_ key: String, lifetime: Int? = nil, render: () async throws -> String) async throws -> String {
        guard await flags.isOn(.fragmentCache) else { return try await render() }
        let fullKey = fullKey(key)
        let kept = Duration.seconds(lifetime ?? self.lifetime)
        if case .text(let copy) = local.value(fullKey) { return copy }
        do {
            if let hit = try await redis.send("GET", fullKey).string {
                local.keep(fullKey, .text(hit), lifetime: kept)
                return hit
            }
        } catch {
            logger.warning("fragment_cache.unavailable", metadata: ["error": "\(error)"])
        }
        let rendered = try await render()
        local.keep(fullKey, .text(rendered), lifetime: kept)
        do {
            try await redis.send("SET", fullKey, rendered, "EX", String(lifetime ?? self.lifetime))
        } catch {
            logger.warning("fragment_cache.unavailable", metadata: ["error": "\(error)"])
        }
        return rendered
    }

    /// Bytes kept under `key` (a file's content), or nil when there are none, the cache is
    /// off, or Redis does not answer.
    func bytes(_ key: String) async -> [UInt8]? {
        guard await flags.isOn(.fragmentCache) else { return nil }
        let fullKey = fullKey(key)
        if case .bytes(let copy) = local.value(fullKey) { return copy }
        do {
            let hit = try await redis.send([Array("GET".utf8), Array(fullKey.utf8)]).bytes
            if let hit { local.keep(fullKey, .bytes(hit)) }
            return hit
        } catch {
            logger.warning("fragment_cache.unavailable", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Keeps `bytes` under `key` for `lifetime` seconds; a Redis failure only means they are
    /// read again next time.
    func store(_ key: String, bytes: [UInt8], lifetime: Int) async {
        guard await flags.isOn(.fragmentCache) else { return }
        let fullKey = fullKey(key)
        local.keep(fullKey, .bytes(bytes), lifetime: .seconds(lifetime))
        do {
            _ = try await redis.send([Array("SET".utf8), Array(fullKey.utf8), bytes, Array("EX".utf8), Array(String(lifetime).utf8)])
        } catch {
            logger.warning("fragment_cache.unavailable", metadata: ["error": "\(error)"])
        }
    }

    private func fullKey(_ key: String) -> String { "\(namespace):fragment:\(PageRenderer.fingerprint):\(key)" }
}
