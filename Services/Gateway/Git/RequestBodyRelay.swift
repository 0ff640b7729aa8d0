import AsyncAlgorithms
import CairnService
import Hummingbird
import NIOCore
import Synchronization

/// Hands a request's body to an upstream call through a channel the gateway owns, so that
/// the body has one reader, which the handler drains and waits for before its response ends.
///
/// An upstream that answers before reading the whole body (git refusing a push part-way)
/// would otherwise leave the HTTP client still reading the request body while Hummingbird,
/// once the response is written, reads the rest of it too: two readers of one stream, which
/// NIO answers by stopping the process. Stopping the reader part-way is no better: the
/// server then stops reading while the client, blocked sending, never sees the answer end.
final class RequestBodyRelay: Sendable {
    /// What the upstream call reads: the request body in buffers of up to 1 MiB.
    let channel = AsyncThrowingChannel<ByteBuffer, any Error>()
    private let discarding = Atomic<Bool>(false)
    private let feeder = Mutex<Task<Void, Never>?>(nil)

    /// Starts reading `body` into the channel, one buffer ahead of the upstream at most.
    init(_ body: RequestBody) {
        // Unstructured because the upstream's answer must be returned while the body still
        // flows; every path through the handler ends it with `drain()`.
        let task = Task { [self] in
            do {
                for try await buffer in CoalescedBody(body) where !discarding.load(ordering: .relaxed) {
                    await channel.send(buffer)
                }
                channel.finish()
            } catch {
                channel.fail(error)
            }
        }
        feeder.withLock { $0 = task }
    }

    /// The upstream has answered: what it did not read of the body is read and dropped, so
    /// the client finishes sending and sees the answer end. Returns once the body has ended.
    func drain() async {
        discarding.store(true, ordering: .relaxed)
        // Frees a feeder waiting for the upstream to take a buffer.
        channel.finish()
        await feeder.withLock { $0 }?.value
    }
}
