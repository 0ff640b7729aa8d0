import Glibc

/// A TCP port nothing listens on just now, outside the kernel's range of ephemeral ports
/// (32768–60999 on Linux): a port the kernel handed out and took back could go to the next
/// outgoing connection of the busy test process before the test's server binds it.
public func freePort() throws -> Int {
    for _ in 0..<100 {
        let candidate = Int.random(in: 10_000..<32_000)
        if canBind(candidate) { return candidate }
    }
    throw TestFailure("no free port")
}

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let length = socklen_t(MemoryLayout<sockaddr_in>.size)
    return withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
    }
}
