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
            let flag = FeatureFlag.fragmentCache
            #expect(await reader.isOn(flag) == flag.defaultOn)

            try await admin.set(flag, FlagSetting(enabled: false))
            #expect(await admin.isOn(flag, userID: 1, username: "ada") == false)
            // The other reader keeps its cached answer for a moment, then sees the change.
            #expect(try await eventually(timeout: .seconds(2)) { await reader.isOn(flag) == false })

            try await admin.set(flag, FlagSetting(enabled: false, percent: 10, users: ["ada"]))
            #expect(await admin.isOn(flag, userID: 999_999, username: "ada"))
            #expect(await admin.isOn(flag) == false)  // anonymous visitors are not in any percentage
            var on = 0
            for id in 1...2000 where await admin.isOn(flag, userID: Int64(id), username: "user\(id)") { on += 1 }
            #expect((140...260).contains(on), "\(on) of 2000 users for 10%")
            for id in 1...50 {
                #expect(await admin.isOn(flag, userID: Int64(id)) == (await admin.isOn(flag, userID: Int64(id))))
            }

            try await admin.set(flag, FlagSetting(enabled: true))
            #expect(await admin.isOn(flag, userID: 5))
            try await admin.reset(flag)
            #expect(try await admin.currentSettings().isEmpty)
            #expect(await admin.isOn(flag) == flag.defaultOn)
            #expect(FlagSetting(enabled: false, percent: 250).percent == 100)
        }
    }
}
