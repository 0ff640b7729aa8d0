import CairnProtocol
import CairnTestSupport
import CairnWorker
import Testing

/// The guarded outbound client against a real receiver: an answer is kept up to 64 KiB and
/// no more, and a receiver that does not answer in time is given up on.
@Suite(.timeLimit(.minutes(5))) struct OutboundClientTests {
    let client = OutboundClient(policy: OutboundAddressPolicy(allowed: [IPNetwork("127.0.0.0/8")!]), timeout: .seconds(2))

    @Test func test_anAnswerIsKeptUpTo64KiB() async throws {
        // Time enough for a whole answer on a machine busy with the rest of the suite (CI once
        // saw 64 KiB from loopback take more than two seconds).
        let client = OutboundClient(policy: OutboundAddressPolicy(allowed: [IPNetwork("127.0.0.0/8")!]), timeout: .seconds(15))
        try await HookReceiver.with { receiver, base in
            let result = await client.post(base + "/big", headers: [], body: Array("{}".utf8))
            #expect(result.statusCode == 200 && result.error == nil, "\(result.error ?? "")")
            #expect(result.body?.utf8.count == 64 << 10)
            let small = await client.post(base + "/ok", headers: [], body: Array("{}".utf8))
            #expect(small.body == "thanks")
            #expect(await receiver.requests(path: "/big").count == 1)
        }
        await client.shutdown()
    }

    @Test func test_aReceiverSlowerThanTheTimeoutIsGivenUpOn() async throws {
        try await HookReceiver.with { _, base in
            let started = ContinuousClock.now
            let result = await client.post(base + "/slow", headers: [], body: Array("{}".utf8))
            #expect(result.statusCode == nil && result.error?.contains("no complete answer within") == true, "\(result)")
            #expect(ContinuousClock.now - started < .seconds(4))
        }
        await client.shutdown()
    }
}
