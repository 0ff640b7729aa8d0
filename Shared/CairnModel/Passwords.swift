import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing and checking, off the cooperative threads (each takes tens of milliseconds).
public enum Passwords {
    /// bcrypt's cost: 2^cost rounds.
    public static let cost: UInt8 = 10
    public static let minimumLength = 8

    public static func hash(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public static func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// Spends what checking a password costs, against no account: signing in as a name that
    /// does not exist then takes as long as with a wrong password, so the time does not tell
    /// which names exist.
    public static func verifyNothing(_ password: String) async throws {
        _ = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: decoy.value) }
    }

    /// A hash of a random secret at `cost`, made once, for `verifyNothing`.
    private static let decoy = Decoy()

    private final class Decoy: Sendable {
        let value = Bcrypt.hash(String(UInt64.random(in: .min ... .max), radix: 36) + "-decoy", cost: Passwords.cost)
    }

    /// Why `password` is too weak, or nil.
    public static func problem(with password: String) -> String? {
        password.count < minimumLength ? "password must be at least \(minimumLength) characters" : nil
    }
}
