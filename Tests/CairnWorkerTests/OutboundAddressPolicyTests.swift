import CairnProtocol
import CairnWorker
import Testing

/// The outbound guard's address check on its own: no connection is ever opened here.
@Suite(.timeLimit(.minutes(5))) struct OutboundAddressPolicyTests {
    @Test(arguments: [
        "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.1.1", "100.64.0.1", "169.254.169.254",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fc00::1", "fd00:ec2::254", "fe80::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "::127.0.0.1",
        // Teredo, local-use NAT64, IPv4-translated, documentation and benchmarking ranges.
        "2001:0:4136:e378:8000:63bf:3fff:fdd2", "64:ff9b:1::a9fe:a9fe", "::ffff:0:127.0.0.1", "::ffff:0:a9fe:a9fe",
        "192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::1", "198.18.0.1", "2001:2::1",
    ])
    func test_internalAddressesAreRefused(_ text: String) throws {
        let address = try #require(IPAddress(text))
        let refusal = OutboundAddressPolicy().refusal(for: address)
        #expect(refusal != nil, "\(text) was allowed")
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "2a00:1450::1"])
    func test_publicAddressesAreAllowed(_ text: String) throws {
        #expect(OutboundAddressPolicy().refusal(for: try #require(IPAddress(text))) == nil)
    }

    @Test func test_theAllowListOpensOnlyWhatItNames() throws {
        let policy = OutboundAddressPolicy(allowed: [IPNetwork("127.0.0.0/8")!, IPNetwork("::1")!, IPNetwork("10.1.0.0/16")!])
        #expect(policy.refusal(for: IPAddress("127.0.0.1")!) == nil)
        #expect(policy.refusal(for: IPAddress("::1")!) == nil)
        #expect(policy.refusal(for: IPAddress("10.1.2.3")!) == nil)
        #expect(policy.refusal(for: IPAddress("10.2.0.1")!)?.contains("private") == true)
        #expect(policy.refusal(for: IPAddress("169.254.169.254")!)?.contains("link-local") == true)
    }

    @Test func test_onlyWebPortsAndHighPortsAreAllowedOutsideTheAllowList() {
        let policy = OutboundAddressPolicy(allowed: [IPNetwork("127.0.0.0/8")!])
        let outside = IPAddress("93.184.216.34")!
        for port in [80, 443, 1024, 8080, 65535] { #expect(policy.refusal(forPort: port, at: outside) == nil, "\(port)") }
        for port in [0, 22, 25, 110, 587, 1023] { #expect(policy.refusal(forPort: port, at: outside)?.contains("port \(port)") == true, "\(port)") }
        #expect(policy.refusal(forPort: 25, at: IPAddress("127.0.0.1")!) == nil)
    }

    /// IPv4 written as one decimal number, in octal or in hex is still loopback once the
    /// client resolves it, and a refused port is refused before anything is sent.
    @Test(arguments: ["http://2130706433/hook", "http://0x7f000001/hook", "http://0177.0.0.1/hook", "http://0x7f.1/hook", "http://[::ffff:0:7f00:1]/hook", "https://93.184.216.34:25/hook"])
    func test_everySpellingOfAnInsideAddressIsRefused(_ url: String) async throws {
        let client = OutboundClient(policy: OutboundAddressPolicy(), connectTimeout: .seconds(1), timeout: .seconds(2))
        let result = await client.post(url, headers: [], body: [])
        await client.shutdown()
        #expect(result.statusCode == nil && result.error?.hasPrefix("refused") == true, "\(url): \(result.error ?? "no error")")
    }

    @Test func test_refusalsSayWhatTheAddressIs() {
        #expect(OutboundAddressPolicy().refusal(for: IPAddress("127.0.0.1")!) == "a loopback address")
        #expect(OutboundAddressPolicy().refusal(for: IPAddress("[::1]")!) == "a loopback address")
        #expect(OutboundAddressPolicy().refusal(for: IPAddress("::ffff:10.0.0.1")!) == "a private address (embedded in an IPv6 address)")
        #expect(IPAddress("::ffff:10.0.0.1")!.description == "::ffff:10.0.0.1")
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPAddress("not-an-address") == nil)
    }
}
