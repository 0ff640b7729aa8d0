import CairnRedis
import Foundation

/// Limits failed sign-ins per client address and per account, counted in Redis over a
/// window, so neither one address nor a spread of addresses can guess passwords quickly.
/// A successful sign-in clears the account's count.
struct SignInLimiter: Sendable {
    let redis: RedisClient
    let namespace: String
    var perAccount = 10
    var perAddress = 50
    var window = 900

    /// Throws 429 when either count is used up.
    func check(address: String, login: String) async throws {
        let counts = try await redis.send("MGET", addressKey(address), accountKey(login)).array.map { $0.int ?? 0 }
        guard counts.count == 2, counts[0] < perAddress, counts[1] < perAccount else {
            throw GatewayError.tooManyRequests("Too many failed sign-ins. Wait \(window / 60) minutes and try again.")
        }
    }

    func recordFailure(address: String, login: String) async throws {
        try await redis.send("EVAL", Self.incrementBoth, "2", addressKey(address), accountKey(login), String(window))
    }

    func recordSuccess(login: String) async throws {
        try await redis.send("DEL", accountKey(login))
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
