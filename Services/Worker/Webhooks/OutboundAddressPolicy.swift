public import CairnProtocol

/// Which addresses the outbound client may connect to: anything public, nothing inside.
///
/// Refused unless the operator's allow-list names them: loopback, private (RFC 1918 and
/// IPv6 unique-local), link-local (which holds the cloud metadata address 169.254.169.254),
/// carrier-grade NAT, multicast, unspecified, reserved, broadcast, documentation and
/// benchmarking ranges, Teredo and local-use NAT64 — and IPv6 forms that embed an IPv4
/// address (mapped, translated, compatible, NAT64, 6to4) are judged by that address. Ports
/// other than 80, 443 and 1024 and above are refused too (mail, SSH and the like), unless the
/// allow-list names the address.
public struct OutboundAddressPolicy: Sendable {
    /// Networks the operator allows even though they are inside (a CI server on the LAN, or
    /// the tests' own receiver on loopback).
    public let allowed: [IPNetwork]

    public init(allowed: [IPNetwork] = []) {
        self.allowed = allowed
    }

    /// What kind of internal address `address` is ("a loopback address"), when Cairn must
    /// not connect to it; nil when it may.
    public func refusal(for address: IPAddress) -> String? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        return Self.internalRange(of: address)
    }

    /// Why Cairn must not connect to `port` at `address`, or nil when it may.
    public func refusal(forPort port: Int, at address: IPAddress) -> String? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        return port == 80 || port == 443 || (1024...65535).contains(port) ? nil : "port \(port), which is not 80, 443 or 1024 and above"
    }

    /// The kind of internal range `address` lies in, or nil for a public address.
    static func internalRange(of address: IPAddress) -> String? {
        let bytes = address.bytes
        if bytes.count == 4 { return v4Range(bytes) }
        if let embedded = embeddedIPv4(bytes) { return v4Range(embedded).map { "\($0) (embedded in an IPv6 address)" } ?? nil }
        for (network, reason) in v6Ranges where network.contains(address) { return reason }
        return nil
    }

    private static func v4Range(_ b: [UInt8]) -> String? {
        for (network, reason) in v4Ranges where network.contains(IPAddress(bytes: b)) { return reason }
        return nil
    }

    /// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
    /// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4
    /// (`2002::/16`) address.
    private static func embeddedIPv4(_ b: [UInt8]) -> [UInt8]? {
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return Array(b[12..<16]) }
        if b[0..<8].allSatisfy({ $0 == 0 }) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0 { return Array(b[12..<16]) }
        if b[0..<12].allSatisfy({ $0 == 0 }) && !(b[12..<15].allSatisfy { $0 == 0 }) { return Array(b[12..<16]) }
        if b[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0][...] { return Array(b[12..<16]) }
        if b[0] == 0x20 && b[1] == 0x02 { return Array(b[2..<6]) }
        return nil
    }

    private static let v4Ranges: [(IPNetwork, String)] = [
        ("0.0.0.0/8", "an unspecified address"), ("10.0.0.0/8", "a private address"), ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("127.0.0.0/8", "a loopback address"), ("169.254.0.0/16", "a link-local address (cloud metadata lives here)"),
        ("172.16.0.0/12", "a private address"), ("192.0.0.0/24", "a reserved address"), ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"), ("224.0.0.0/4", "a multicast address"), ("240.0.0.0/4", "a reserved or broadcast address"),
        ("192.0.2.0/24", "a documentation address"), ("198.51.100.0/24", "a documentation address"), ("203.0.113.0/24", "a documentation address"),
    ].map { (IPNetwork($0.0)!, $0.1) }

    private static let v6Ranges: [(IPNetwork, String)] = [
        ("::/128", "an unspecified address"), ("::1/128", "a loopback address"), ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"), ("fec0::/10", "a site-local address"), ("ff00::/8", "a multicast address"),
        ("100::/64", "a discard address"), ("2001::/32", "a Teredo tunnel address"), ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("2001:db8::/32", "a documentation address"), ("2001:2::/48", "a benchmarking address"),
    ].map { (IPNetwork($0.0)!, $0.1) }
}
