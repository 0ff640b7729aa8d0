import CairnModel
import CairnRedis
import CairnTestSupport
import Foundation
import Testing

/// Feature flags over a real Redis: defaults, on and off, a stable percentage of users, an
/// allow-list, reset, and a change seen by another reader once its cache expires.
@Suite(.timeLimit(.minutes(5))) struct FeatureFlagsTests {
    @Test func test_settingsDecideForEachUserAndAreSeenByEveryReader() async throws {
        try await withTestRedis { redis, namespace in
            let admin = FeatureFlags(redis: redis, namespace: namespace, cacheFor: .zero)
            let reader = FeatureFlags(redis: redis, namespace: namespace, cacheFor: .milliseconds(200))
            let slowReader = FeatureFlags(redis: redis, namespace: namespace, cacheFor: .seconds(60))
            let flag = FeatureFlag.fragmentCache
            #expect(flag.defaultOn)
            #expect(await reader.isOn(flag))
            #expect(await slowReader.isOn(flag))

            try await admin.set(flag, FlagSetting(enabled: false))
            #expect(await admin.isOn(flag, userID: 1, username: "ada") == false)
            // Another reader keeps its cached answer while its cache lasts, then sees the change.
            #expect(await slowReader.isOn(flag), "a cached answer must stand until the cache expires")
            #expect(try await eventually(timeout: .seconds(2)) { await reader.isOn(flag) == false })
            #expect(await slowReader.isOn(flag))

            try await admin.set(flag, FlagSetting(enabled: false, percent: 10, users: ["ada"]))
            #expect(await admin.isOn(flag, userID: 999_999, username: "ada"))
            #expect(await admin.isOn(flag) == false)  // anonymous visitors are not in any percentage
            func usersOn(_ flags: FeatureFlags) async -> Set<Int64> {
                var on: Set<Int64> = []
                for id in Int64(1)...2000 where await flags.isOn(flag, userID: id, username: "user\(id)") { on.insert(id) }
                return on
            }
            let tenPercent = await usersOn(admin)
            #expect((140...260).contains(tenPercent.count), "\(tenPercent.count) of 2000 users for 10%")
            // The same users for every reader, every time; raising the share only adds users.
            let fresh = FeatureFlags(redis: redis, namespace: namespace, cacheFor: .zero)
            #expect(await usersOn(fresh) == tenPercent)
            try await admin.set(flag, FlagSetting(enabled: false, percent: 30))
            let thirtyPercent = await usersOn(admin)
            #expect(tenPercent.isSubset(of: thirtyPercent))
            #expect((500...700).contains(thirtyPercent.count), "\(thirtyPercent.count) of 2000 users for 30%")

            try await admin.set(flag, FlagSetting(enabled: true))
            #expect(await admin.isOn(flag, userID: 5))
            try await admin.reset(flag)
            #expect(try await admin.currentSettings().isEmpty)
            #expect(await admin.isOn(flag) == flag.defaultOn)
            #expect(FlagSetting(enabled: false, percent: 250).percent == 100)
        }
    }
}
