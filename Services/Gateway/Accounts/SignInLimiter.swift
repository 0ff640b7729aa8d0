import CairnRedis
import Foundation
import Logging
import Synchronization

/// Limits password attempts per client address and per account, on every path that takes a
/// password (the sign-in form, and HTTP basic for git and the API), so neither one address
/// nor a spread of addresses can guess passwords quickly, and each guess's bcrypt is not
/// free. Each attempt is counted before the password is checked, both counts in one Redis
/// step, so parallel attempts cannot slip past the limit; a right password takes its attempt
/// back and clears the account's count. Tokens never pass through here: an account's owner
/// keeps working with tokens while its password is being guessed. While Redis does not
/// answer, this gateway counts in its own memory instead.
struct SignInLimiter: Sendable {
    let redis: RedisClient
    let namespace: String
    var perAccount = 10
    var perAddress = 50
    var window = 900
    var logger = Logger(label: "cairn.signin")
    /// The counts kept while Redis is away.
    let local = LocalCounts()

    /// Counts an attempt by `address` at `login`; throws 429 (with when to try again) when
    /// either count is used up.
    func attempt(address: String, login: String) async throws {
        let wait: Int
        do {
            wait = try await redis.send("EVAL", Self.reserve, "2", addressKey(address), accountKey(login), String(window), String(perAddress), String(perAccount)).int ?? 0
        } catch {
            logger.warning("signin_limit.counting_locally", metadata: ["error": "\(error)"])
            let counts = [addressKey(address), accountKey(login)].map { local.increment($0, window: .seconds(window)) }
            wait = counts[0] > perAddress || counts[1] > perAccount ? window : 0
        }
        guard wait <= 0 else {
            throw GatewayError.tooManyRequests("Too many failed sign-ins. Wait \(max(1, wait / 60)) minutes and try again.", retryAfter: wait)
        }
    }

    /// The password was right: the attempt is taken back and the account's count cleared.
    func succeeded(address: String, login: String) async {
        local.reset(accountKey(login))
        local.decrement(addressKey(address))
        do {
            try await redis.send("EVAL", Self.release, "2", addressKey(address), accountKey(login))
        } catch {
            logger.warning("signin_limit.counting_locally", metadata: ["error": "\(error)"])
        }
    }

    private func addressKey(_ address: String) -> String { "\(namespace):signin:address:\(address)" }
    private func accountKey(_ login: String) -> String { "\(namespace):signin:account:\(login.lowercased())" }

    /// Counts one attempt on both keys (a key's window starts at its first attempt); answers
    /// 0 when both are within their limits, else the seconds until the fuller one empties.
    static let reserve = """
        local wait = 0
        for i, key in ipairs(KEYS) do
          local count = redis.call('INCR', key)
          if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
          if count > tonumber(ARGV[i + 1]) then wait = math.max(wait, redis.call('TTL', key)) end
        end
        return wait
        """

    /// Takes a successful attempt back from the address and clears the account.
    static let release = """
        if redis.call('DECR', KEYS[1]) < 0 then redis.call('DEL', KEYS[1]) end
        redis.call('DEL', KEYS[2])
        return 1
        """
}

/// Failure counts in this process's memory, each forgotten when its window ends. It holds
/// at most `capacity` keys: when that many live, a key it has no room for counts as used
/// up, so a flood of names can neither exhaust memory nor push out a victim's count.
final class LocalCounts: Sendable {
    private let counts = Mutex<(entries: [String: (count: Int, ends: ContinuousClock.Instant)], swept: ContinuousClock.Instant)>(([:], .now))
    let capacity = 100_000

    /// Counts one more for `key`; returns its count (past the limit when there is no room).
    @discardableResult
    func increment(_ key: String, window: Duration) -> Int {
        counts.withLock { state in
            let now = ContinuousClock.now
            // Expired keys are swept at most once a second, not on every failure.
            if state.entries.count >= capacity, now - state.swept > .seconds(1) {
                state.entries = state.entries.filter { $0.value.ends > now }
                state.swept = now
            }
            if let entry = state.entries[key], entry.ends > now {
                state.entries[key] = (entry.count + 1, entry.ends)
                return entry.count + 1
            } else if state.entries.count < capacity {
                state.entries[key] = (1, now + window)
                return 1
            }
            return .max
        }
    }

    func decrement(_ key: String) {
        counts.withLock { state in
            if let entry = state.entries[key] { state.entries[key] = (max(0, entry.count - 1), entry.ends) }
        }
    }

    func reset(_ key: String) {
        counts.withLock { _ = $0.entries.removeValue(forKey: key) }
    }
}
