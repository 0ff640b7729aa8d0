import Glibc

/// Tells systemd about the daemon's state (`READY=1`, `STOPPING=1`) through `$NOTIFY_SOCKET`.
///
/// Hand-written (a dozen lines of socket calls) because linking libsystemd for `sd_notify`
/// would add a system dependency for one datagram.
public enum SystemdNotifier {
    /// Sends `state` when `NOTIFY_SOCKET` is set; does nothing otherwise. Returns whether it sent.
    @discardableResult
    public static func notify(_ state: String, socketPath: String? = nil) -> Bool {
        guard var path = socketPath ?? getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !path.isEmpty else { return false }
        if path.hasPrefix("@") { path = "\0" + path.dropFirst() }  // abstract namespace
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let sent = state.withCString { message in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                    sendto(fd, message, strlen(message), Int32(MSG_NOSIGNAL), sockaddrPointer, length)
                }
            }
        }
        return sent >= 0
    }
}
