import Glibc
import NIOCore
import Synchronization
import SystemPackage

/// Cairn's end of a pipe to or from a git process, read and written without blocking and
/// without a wake-up per page.
///
/// A pipe wakes a blocked writer each time its reader frees a page, and `index-pack` reads
/// 4 KiB at a time: a blocking writer feeding it a 300 MB push is woken some 80,000 times.
/// Waiting for readiness on git's output costs as many wake-ups as git makes writes. Here
/// the pipe holds 1 MiB and Cairn takes or puts whatever fits; when nothing does, it
/// sleeps 1 ms, doubling up to 16 ms while git stays idle. While data flows that is one
/// wake-up per millisecond for hundreds of kilobytes. NIO and Subprocess only wait for
/// readiness, so this is written by hand.
final class PolledPipe: Sendable {
    /// The descriptor Cairn reads or writes; non-blocking.
    let descriptor: Int32
    private let closed = Atomic(false)

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Linux's F_SETPIPE_SZ, which Glibc's Swift module does not export.
    private static let setPipeSize: Int32 = 1031
    static let capacity = 1 << 20

    enum Direction { case toChild, fromChild }

    /// A new pipe: Cairn's polled end and the end to hand to the child as its standard
    /// input (`toChild`) or output (`fromChild`). Both are close-on-exec (and Subprocess's
    /// children close every descriptor past standard error), so no other child holds them.
    static func open(_ direction: Direction) throws -> (pipe: PolledPipe, childEnd: SystemPackage.FileDescriptor) {
        var ends: [Int32] = [0, 0]
        guard Glibc.pipe(&ends) == 0 else { throw Errno(rawValue: errno) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let (ours, theirs) = direction == .toChild ? (ends[1], ends[0]) : (ends[0], ends[1])
        _ = fcntl(ours, setPipeSize, Int32(capacity))  // a smaller pipe only means more wake-ups
        _ = fcntl(ours, F_SETFL, fcntl(ours, F_GETFL) | O_NONBLOCK)
        return (PolledPipe(descriptor: ours), SystemPackage.FileDescriptor(rawValue: theirs))
    }

    /// Writes all of `buffer`, sleeping while the pipe is full. Throws `Errno.brokenPipe`
    /// once the child has stopped reading.
    func write(_ buffer: ByteBuffer) async throws {
        guard !closed.load(ordering: .relaxed) else { throw Errno.badFileDescriptor }
        var remaining = buffer
        var idle = IdleWait()
        while remaining.readableBytes > 0 {
            var failure: Int32 = 0
            let written = remaining.withUnsafeReadableBytes { bytes -> Int in
                let written = Glibc.write(descriptor, bytes.baseAddress, bytes.count)
                if written < 0 { failure = errno }
                return written
            }
            if written > 0 {
                remaining.moveReaderIndex(forwardBy: written)
                idle.reset()
            } else if failure == EAGAIN {
                try await idle.wait()
            } else if failure != EINTR {
                throw Errno(rawValue: failure)
            }
        }
    }

    /// Reads until `size` bytes are in hand, the child closes its end, or bytes have been
    /// held for `hold` with nothing more coming (so progress messages are not kept back).
    /// Returns nil at the end of the stream.
    func read(size: Int = capacity, hold: Duration = .milliseconds(10)) async throws -> ByteBuffer? {
        guard !closed.load(ordering: .relaxed) else { throw Errno.badFileDescriptor }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        var idle = IdleWait()
        var firstByte: ContinuousClock.Instant?
        while buffer.readableBytes < size {
            var failure: Int32 = 0
            let wanted = size - buffer.readableBytes
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { space -> Int in
                let count = Glibc.read(descriptor, space.baseAddress, wanted)
                if count < 0 { failure = errno }
                return max(count, 0)
            }
            if count > 0 {
                firstByte = firstByte ?? .now
                idle.reset()
            } else if failure == 0 {
                break  // end of stream
            } else if failure == EAGAIN {
                if let firstByte, ContinuousClock.now - firstByte >= hold { break }
                try await idle.wait()
            } else if failure != EINTR {
                throw Errno(rawValue: failure)
            }
        }
        return buffer.readableBytes > 0 ? buffer : nil
    }

    /// Closes Cairn's end (the child then sees the end of its input); later calls do nothing.
    func close() {
        if !closed.exchange(true, ordering: .relaxed) { _ = Glibc.close(descriptor) }
    }
}

/// Sleeps 1 ms, then twice as long each time in a row, up to 16 ms.
private struct IdleWait {
    private var next = Duration.milliseconds(1)

    mutating func wait() async throws {
        try await Task.sleep(for: next)
        next = min(next * 2, .milliseconds(16))
    }

    mutating func reset() {
        next = .milliseconds(1)
    }
}
