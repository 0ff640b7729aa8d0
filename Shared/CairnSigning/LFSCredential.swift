public import Foundation

/// The credential `cairn-sshd` answers `git-lfs-authenticate` with: git-lfs sends it to the
/// gateway's LFS API as `Authorization: Bearer cairn_lfs_…`. Signed, so the gateway checks
/// it alone; it reaches one repository, read or write, acting for one person (for a deploy
/// key, whoever added it), and lives `lifetime`.
public struct LFSCredential: Sendable, Codable, Equatable {
    public static let salt = "cairn.ssh-lfs"
    public static let prefix = "cairn_lfs_"
    public static let lifetime: Duration = .seconds(1800)

    /// The repository's id.
    public var repository: Int64
    /// Whether it allows uploads (`git-lfs-authenticate … upload`) or only downloads.
    public var write: Bool
    /// The id of the person it acts for, whose permission also bounds it.
    public var actingFor: Int64

    public init(repository: Int64, write: Bool, actingFor: Int64) {
        self.repository = repository
        self.write = write
        self.actingFor = actingFor
    }

    /// The secret as sent: the prefix and the signed token.
    public func secret(signer: Signer, now: Date = Date()) throws -> String {
        Self.prefix + (try signer.sign(self, salt: Self.salt, now: now))
    }

    /// The credential `secret` carries; nil when it is not one, is tampered with or expired.
    public init?(secret: String, signer: Signer, now: Date = Date()) {
        guard secret.hasPrefix(Self.prefix),
              let value = try? signer.unsign(String(secret.dropFirst(Self.prefix.count)), as: LFSCredential.self, salt: Self.salt, maxAge: Self.lifetime, now: now)
        else { return nil }
        self = value
    }
}
