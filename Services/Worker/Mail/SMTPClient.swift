import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Hands one message to an SMTP relay: EHLO, MAIL FROM, RCPT TO, DATA (dot-stuffed), QUIT.
///
/// Written by hand because no SMTP library is among this machine's packages; it speaks only
/// what a local relay (Postfix, nullmailer) needs — no TLS and no login, which the relay adds
/// for the onward hop. Blocking sockets with time-outs, run on NIO's blocking-work pool.
struct SMTPClient: Sendable {
    let host: String
    let port: Int
    let timeout: Duration = .seconds(15)

    func send(from: String, to: String, message: String) async throws {
        try await NIOThreadPool.singleton.runIfActive { try sendBlocking(from: from, to: to, message: message) }
    }

    private func sendBlocking(from: String, to: String, message: String) throws {
        let socket = try connect()
        defer { close(socket) }
        var reader = ReplyReader(socket: socket)
        try reader.expect([220], "greeting")
        try command(socket, "EHLO \(ProcessInfo.processInfo.hostName)", &reader, 250)
        try command(socket, "MAIL FROM:<\(from)>", &reader, 250)
        try command(socket, "RCPT TO:<\(to)>", &reader, 250, 251)
        try command(socket, "DATA", &reader, 354)
        // Dot-stuffing (RFC 5321 §4.5.2): a line that starts with "." gets another.
        let stuffed = message.split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
        try write(socket, stuffed + (stuffed.hasSuffix("\r\n") ? "" : "\r\n") + ".\r\n")
        try reader.expect([250], "message")
        try? write(socket, "QUIT\r\n")
    }

    private func command(_ socket: Int32, _ line: String, _ reader: inout ReplyReader, _ accepted: Int...) throws {
        try write(socket, line + "\r\n")
        try reader.expect(accepted, line.split(separator: " ").first.map(String.init) ?? line)
    }

    private func connect() throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let list else { throw MailError("cannot resolve the SMTP relay \(host)") }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = list
        var seconds = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        while let current = entry {
            let socket = Glibc.socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            if socket >= 0 {
                setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(socket, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 { return socket }
                close(socket)
            }
            entry = current.pointee.ai_next
        }
        throw MailError("cannot connect to the SMTP relay \(host):\(port): \(String(cString: strerror(errno)))")
    }

    private func write(_ socket: Int32, _ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw MailError("the SMTP relay \(host):\(port) stopped reading: \(String(cString: strerror(errno)))") }
            bytes = bytes.dropFirst(sent)
        }
    }

    /// Reads replies line by line; a multi-line reply ends at the line with a space after its code.
    private struct ReplyReader {
        let socket: Int32
        var buffer: [UInt8] = []

        mutating func expect(_ accepted: [Int], _ step: String) throws {
            while true {
                let line = try readLine()
                guard line.count >= 3, let code = Int(line.prefix(3)) else { throw MailError("the SMTP relay answered \(step) with \"\(line)\"") }
                if line.count > 3, line[line.index(line.startIndex, offsetBy: 3)] == "-" { continue }
                guard accepted.contains(code) else { throw MailError("the SMTP relay refused \(step): \(line)") }
                return
            }
        }

        private mutating func readLine() throws -> String {
            while true {
                if let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    buffer.removeSubrange(...end)
                    return line
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { throw MailError("the SMTP relay closed the connection or did not answer in time") }
                buffer += chunk[..<count]
                guard buffer.count < 1 << 20 else { throw MailError("the SMTP relay's reply is too long") }
            }
        }
    }
}
