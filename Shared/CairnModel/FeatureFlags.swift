public import CairnRedis
import CairnProtocol
import Crypto
import Foundation

/// A feature that can be switched at run time. Every flag is declared here, with what it does
/// and its state when nobody has set it.
public struct FeatureFlag: Sendable, Hashable {
    public let name: String
    public let summary: String
    public let defaultOn: Bool

    /// Repository pages (home, trees, files) are served from rendered fragments cached in
    /// Redis under the repository's cache version. Off: every page is rendered afresh.
    public static let fragmentCache = FeatureFlag(name: "fragment-cache", summary: "Serve repository pages from fragments cached in Redis", defaultOn: true)

    /// Every flag, in the order the admin page lists them.
    public static let all: [FeatureFlag] = [.fragmentCache]

    public static func named(_ name: String) -> FeatureFlag? { all.first { $0.name == name } }

    /// The flag's state under `setting` in words: "default (on)", "off; on for 10% of
    /// signed-in users; on for ada, bob".
    public func describe(_ setting: FlagSetting?) -> String {
        guard let setting else { return "default (\(defaultOn ? "on" : "off"))" }
        if setting.enabled { return "on for everyone" }
        var parts = ["off"]
        if setting.percent > 0 { parts.append("on for \(setting.percent)% of signed-in users") }
        if !setting.users.isEmpty { parts.append("on for \(setting.users.joined(separator: ", "))") }
        return parts.joined(separator: "; ")
    }
}

/// How a flag is set: on or off for everyone, or on for a percentage of signed-in users
/// (the same users every time: a hash of the flag and the user id) and for named users.
public struct FlagSetting: Sendable, Codable, Equatable {
    public var enabled: Bool
    /// 0 to 100: the share of signed-in users it is on for when not `enabled`.
    public var percent: Int
    /// Usernames it is on for whatever else is set.
    public var users: [String]

    public init(enabled: Bool, percent: Int = 0, users: [String] = []) {
        self.enabled = enabled
        self.percent = min(max(percent, 0), 100)
        self.users = users
    }

    /// Whether the flag is on for the user `id`/`username` (nil for anonymous visitors).
    public func isOn(flag: String, userID: Int64?, username: String?) -> Bool {
        if enabled { return true }
        if let username, users.contains(username) { return true }
        guard let userID, percent > 0 else { return false }
        return Self.bucket(flag: flag, userID: userID) < percent
    }

    /// A stable number from 0 to 99 for a flag and a user.
    static func bucket(flag: String, userID: Int64) -> Int {
        let digest = SHA256.hash(data: Data("\(flag):\(userID)".utf8))
        let number = digest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Int(number % 100)
    }
}

/// The flags' settings, in a Redis hash (`<namespace>:flags`, flag name → JSON setting),
/// read through `isOn` with the whole hash cached for `cacheFor`, so asking costs nothing
/// on the request path. A flag nobody set has its declared default.
public final class FeatureFlags: Sendable {
    public let redis: RedisClient
    public let key: String
    private let cache: CachedRead<[String: FlagSetting]>

    public init(redis: RedisClient, namespace: String, cacheFor: Duration = .seconds(2)) {
        self.redis = redis
        self.key = "\(namespace):flags"
        self.cache = CachedRead([:], lifetime: cacheFor)
    }

    /// Whether `flag` is on for this user (nil for anonymous visitors).
    public func isOn(_ flag: FeatureFlag, userID: Int64? = nil, username: String? = nil) async -> Bool {
        guard let setting = await settings()[flag.name] else { return flag.defaultOn }
        return setting.isOn(flag: flag.name, userID: userID, username: username)
    }

    /// Every flag that was set, by name (cached); when Redis does not answer, the last read stands.
    public func settings() async -> [String: FlagSetting] {
        await cache.value { try await currentSettings() }
    }

    /// Every flag that was set, read from Redis now.
    public func currentSettings() async throws -> [String: FlagSetting] {
        var settings: [String: FlagSetting] = [:]
        for (name, text) in try await redis.send("HGETALL", key).fields {
            if let setting = try? CairnJSON.decode(FlagSetting.self, from: Data(text.utf8)) { settings[name] = setting }
        }
        return settings
    }

    public func set(_ flag: FeatureFlag, _ setting: FlagSetting) async throws {
        let json = String(decoding: try CairnJSON.encode(setting), as: UTF8.self)
        try await redis.send("HSET", key, flag.name, json)
        cache.forget()
    }

    /// Back to the flag's declared default.
    public func reset(_ flag: FeatureFlag) async throws {
        try await redis.send("HDEL", key, flag.name)
        cache.forget()
    }
}
