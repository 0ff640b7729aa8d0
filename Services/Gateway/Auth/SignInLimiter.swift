import CairnRedis
import Foundation
import Logging
import Synchronization

/// Limits failed sign-ins per client address and per account, counted in Redis over a
/// window, so neither one address nor a spread of addresses can guess passwords quickly.
/// A successful sign-in clears the account's count. While Redis does not answer, this
/// gateway counts in its own memory instead, so the limit holds through an outage.
struct SignInLimiter: Sendable {
    let redis: RedisClient
    let namespace: String
    var perAccount = 10
    var perAddress = 50
    var window = 900
    var logger = Logger(label: "cairn.signin")
    /// The counts kept while Redis is away.
    let local = LocalCounts()

    /// Throws 429 when either count is used up.
    func check(address: String, login: String) async throws {
        let counts: [Int]
        do {
            counts = try await redis.send("MGET", addressKey(address), accountKey(login)).array.map { $0.int ?? 0 }
        } catch {
            logger.warning("signin_limit.counting_locally", metadata: ["error": "\(error)"])
            counts = [local.count(addressKey(address)), local.count(accountKey(login))]
        }
        guard counts.count == 2, counts[0] < perAddress, counts[1] < perAccount else {
            throw GatewayError.tooManyRequests("Too many failed sign-ins. Wait \(window / 60) minutes and try again.")
        }
    }

    func recordFailure(address: String, login: String) async throws {
        do {
            try await redis.send("EVAL", Self.incrementBoth, "2", addressKey(address), accountKey(login), String(window))
        } catch {
            for key in [addressKey(address), accountKey(login)] { local.increment(key, window: .seconds(window)) }
        }
    }

    func recordSuccess(login: String) async throws {
        local.reset(accountKey(login))
        do {
            try await redis.send("DEL", accountKey(login))
        } catch {
            logger.warning("signin_limit.counting_locally", metadata: ["error": "\(error)"])
        }
    }

    private func addressKey(_ address: String) -> String { "\(namespace):signin:address:\(address)" }
    private func accountKey(_ login: String) -> String { "\(namespace):signin:account:\(login.lowercased())" }

    /// Counts one failure on both keys; a key's window starts at its first failure.
    static let incrementBoth = """
        for _, key in ipairs(KEYS) do
          if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
        end
        return 1
        """
}

/// Failure counts in this process's memory, each forgotten when its window ends. It holds
/// at most `capacity` keys: when that many live, a key it has no room for counts as used
/// up, so a flood of names can neither exhaust memory nor push out a victim's count.
final class LocalCounts: Sendable {
    private let counts = Mutex<(entries: [String: (count: Int, ends: ContinuousClock.Instant)], swept: ContinuousClock.Instant)>(([:], .now))
    let capacity = 100_000

    func count(_ key: String) -> Int {
        counts.withLock { state in
            let now = ContinuousClock.now
            guard let entry = state.entries[key], entry.ends > now else { return state.entries.count >= capacity ? .max : 0 }
            return entry.count
        }
    }

    func increment(_ key: String, window: Duration) {
        counts.withLock { state in
            let now = ContinuousClock.now
            // Expired keys are swept at most once a second, not on every failure.
            if state.entries.count >= capacity, now - state.swept > .seconds(1) {
                state.entries = state.entries.filter { $0.value.ends > now }
                state.swept = now
            }
            if let entry = state.entries[key], entry.ends > now {
                state.entries[key] = (entry.count + 1, entry.ends)
            } else if state.entries.count < capacity {
                state.entries[key] = (1, now + window)
            }
        }
    }

    func reset(_ key: String) {
        counts.withLock { _ = $0.entries.removeValue(forKey: key) }
    }
}
