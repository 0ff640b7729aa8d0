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

    /// Why `password` is too weak, or nil.
    public static func problem(with password: String) -> String? {
        password.count < minimumLength ? "password must be at least \(minimumLength) characters" : nil
    }
}
