public import NIOCore

/// Joins the small buffers of a byte stream (64 KiB pipe reads, socket reads) into larger
/// ones of at least `threshold` bytes (1 MiB by default) before they are written on, so that a pack streamed
/// through two hops costs a few thousand writes instead of tens of thousands. The last
/// buffer goes out as soon as the stream ends; nothing is held beyond one buffer.
public struct CoalescedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    public typealias Element = ByteBuffer

    let base: Base
    let threshold: Int

    public init(_ base: Base, threshold: Int = 1 << 20) {
        self.base = base
        self.threshold = threshold
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeAsyncIterator(), threshold: threshold)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let threshold: Int
        var finished = false

        public mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            var collected: ByteBuffer?
            while let buffer = try await base.next() {
                if collected == nil {
                    if buffer.readableBytes >= threshold { return buffer }
                    collected = ByteBufferAllocator().buffer(capacity: threshold + buffer.readableBytes)
                }
                collected!.writeImmutableBuffer(buffer)
                if collected!.readableBytes >= threshold { return collected }
            }
            finished = true
            return collected
        }
    }
}
