import Foundation
import NIOCore
import Subprocess
import SystemPackage
import Testing

@testable import CairnRepoStore

/// The polled pipes that carry packs between the repository store and git, against real
/// child processes.
@Suite(.timeLimit(.minutes(5))) struct PolledPipeTests {
    init() {
        // As in the repository store: a write to a reader that has gone fails with EPIPE.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Runs `command` through `sh -c` with a polled pipe on each side.
    static func run<Result: Sendable>(
        _ command: String, _ body: @Sendable (_ input: PolledPipe, _ output: PolledPipe) async throws -> Result
    ) async throws -> Result {
        let (input, inputForChild) = try PolledPipe.open(.toChild)
        let (output, outputForChild) = try PolledPipe.open(.fromChild)
        defer { input.close(); output.close() }
        return try await Subprocess.run(
            .path("/bin/sh"), arguments: ["-c", command],
            input: .fileDescriptor(inputForChild, closeAfterSpawningProcess: true),
            output: .fileDescriptor(outputForChild, closeAfterSpawningProcess: true), error: .discarded
        ) { _ in try await body(input, output) }.closureResult
    }

    /// Reads everything until the end of the stream.
    static func readAll(_ output: PolledPipe) async throws -> ByteBuffer {
        var received = ByteBuffer()
        while var chunk = try await output.read() { received.writeBuffer(&chunk) }
        return received
    }

    @Test func test_manyMegabytesGoThroughAChildUnchangedAndInOrder() async throws {
        // Far more than the two 1 MiB pipes hold, so both sides wait for the other many times.
        let data = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: 24 << 20)
        let received = try await Self.run("cat") { input, output in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { input.close() }
                    var offset = 0
                    while offset < data.count {
                        let end = min(offset + 300_000, data.count)
                        try await input.write(ByteBuffer(bytes: data[offset..<end]))
                        offset = end
                    }
                }
                let received = try await Self.readAll(output)
                try await group.waitForAll()
                return received
            }
        }
        #expect(received.readableBytes == data.count)
        #expect(Data(received.readableBytesView) == data)
    }

    @Test func test_writingToAChildThatStoppedReadingFailsInsteadOfWaiting() async throws {
        let error = try await Self.run("head -c 10 >/dev/null") { input, _ in
            do {
                for _ in 0..<64 { try await input.write(ByteBuffer(repeating: 7, count: 1 << 20)) }
                return nil as Errno?
            } catch let error as Errno {
                return error
            }
        }
        #expect(error == .brokenPipe)
    }

    @Test func test_bytesHeldBackOnlyBriefly() async throws {
        // git's progress lines trickle out while it counts objects: they must reach the client
        // before the process ends, not wait for a full buffer. (The gap is long because the
        // suite's first seconds can keep this task from running for two of them.)
        let (first, rest) = try await Self.run("printf early; sleep 8; printf late") { _, output in
            let first = try await output.read()
            return (first.map { String(buffer: $0) }, String(buffer: try await Self.readAll(output)))
        }
        #expect(first == "early")
        #expect(rest == "late")
    }

    @Test func test_anEmptyOutputEndsAtOnce() async throws {
        let received = try await Self.run("true") { _, output in try await output.read() }
        #expect(received == nil)
    }
}
