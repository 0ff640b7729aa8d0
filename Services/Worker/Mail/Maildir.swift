import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Delivers mail into a maildir (`tmp/`, `new/`, `cur/`): the message is written to `tmp/`,
/// synced, then renamed into `new/`, so a reader never sees half a message. The file name
/// comes from the task, so a task run twice leaves one file.
struct Maildir: Sendable {
    let root: String

    func deliver(_ message: String, name: String) throws {
        for folder in ["tmp", "new", "cur"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" })
        let final = "\(root)/new/\(safe)"
        guard !FileManager.default.fileExists(atPath: final) else { return }
        let temporary = "\(root)/tmp/\(safe)"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw MailError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(message.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else {
            unlink(temporary)
            throw MailError("cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, final) == 0 else { throw MailError("cannot move mail into \(final): \(String(cString: strerror(errno)))") }
    }
}

/// Mail that could not be handed over, with why.
struct MailError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
