import Crypto
import Foundation
import Glibc
import NIOSSH

/// The ed25519 host key, made at first start and kept (mode 0600) at `path` as its 32 raw
/// bytes in base64, so that clients see the same host after every restart.
enum HostKey {
    /// Reads the key at `path`, or makes and writes one when there is none; a file that is
    /// there but is no key is an error (never silently replaced: clients would see a new host).
    static func load(at path: String) throws -> NIOSSHPrivateKey {
        if FileManager.default.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            else { throw HostKeyError(path: path) }
            return NIOSSHPrivateKey(ed25519Key: key)
        }
        let key = Curve25519.Signing.PrivateKey()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // Made with mode 0600 from the start, and only if no other process made one meanwhile.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST {
                // Another process is making it: wait (a second at most) for its bytes.
                for _ in 0..<20 where ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) == 0 { usleep(50_000) }
                return try load(at: path)
            }
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        defer { close(descriptor) }
        let text = Array(key.rawRepresentation.base64EncodedString().utf8)
        guard Glibc.write(descriptor, text, text.count) == text.count, fsync(descriptor) == 0 else {
            unlink(path)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return NIOSSHPrivateKey(ed25519Key: key)
    }
}

/// The host key file holds something else than a key Cairn wrote.
struct HostKeyError: Error, CustomStringConvertible {
    let path: String
    var description: String { "sshd.hostKeyFile \(path) is not an ed25519 key in base64; move it away to make a new one (clients will then see a new host key)" }
}
