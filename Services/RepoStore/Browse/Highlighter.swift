import CairnProtocol
import CairnService
import Foundation
import Logging
import ServiceLifecycle
import NIOCore
import Subprocess
import Synchronization
import SystemPackage

/// Syntax highlighting with Pygments (Debian's `python3-pygments`, the highlighter cgit
/// uses), in one long-running Python process, so a request costs the highlighting and not
/// Python's start (~110 ms here): requests go one at a time, as a line of JSON each way.
/// A request that takes longer than `timeLimit` kills the process; the next request starts
/// a new one. Without Python or Pygments every item comes back nil and pages show plain text.
/// Pygments escapes the text; each line it returns is still checked (`isSafe`) to hold
/// nothing but its `<span class="…">` elements before it is passed on.
/// It runs as one of the daemon's services: its process is stopped when the daemon stops.
actor Highlighter: Service {
    /// The Python that has Pygments.
    let python: String
    let timeLimit: Duration
    let logger: Logger
    private var helper: Helper?
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// The most requests that wait for the process; more are answered plain at once.
    static let longestQueue = 16

    init(python: String = "/usr/bin/python3", timeLimit: Duration = .seconds(10), logger: Logger) {
        self.python = python
        self.timeLimit = timeLimit
        self.logger = logger
    }

    /// Waits for the daemon's shutdown, then stops the process (a request after that starts
    /// none: the daemon is going).
    func run() async throws {
        try? await gracefulShutdown()
        shutDown()
    }

    /// Stops the process for good.
    func shutDown() {
        stopped = true
        helper?.stop()
        helper = nil
    }

    private var stopped = false

    /// Each item's lines highlighted, or nil for an item that could not be.
    func highlight(_ items: [HighlightRequest.Item]) async -> [[String]?] {
        let wanted = items.map { SyntaxLexer.known.contains($0.lexer) && !$0.text.isEmpty }
        guard wanted.contains(true), !stopped else { return items.map { _ in nil } }
        // A queue this long means the process is behind: plain text now beats a wait.
        guard !busy || waiting.count < Self.longestQueue else { return items.map { _ in nil } }
        await acquire()
        defer { release() }
        let request = items.enumerated().map { index, item in
            wanted[index] ? item : HighlightRequest.Item(lexer: "text", text: "")
        }
        guard let answers = await exchange(request), answers.count == items.count else { return items.map { _ in nil } }
        return zip(items, answers).enumerated().map { index, pair in
            guard wanted[index], let html = pair.1 else { return nil }
            return Self.lines(html, matching: pair.0.text)
        }
    }

    /// The highlighter's output split into lines, or nil when it does not have one line for
    /// each of `text`'s or holds anything but span elements.
    static func lines(_ html: String, matching text: String) -> [String]? {
        var lines = html.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var expected = text.split(separator: "\n", omittingEmptySubsequences: false).count
        if text.hasSuffix("\n") { expected -= 1 }
        guard lines.count == expected, lines.allSatisfy(isSafe) else { return nil }
        return lines
    }

    /// Whether `line` has no markup but `<span class="x y">` and `</span>`.
    static func isSafe(_ line: String) -> Bool {
        var rest = line.utf8[...]
        while let open = rest.firstIndex(of: UInt8(ascii: "<")) {
            rest = rest[open...]
            if rest.starts(with: "</span>".utf8) {
                rest = rest.dropFirst(7)
                continue
            }
            guard rest.starts(with: "<span class=\"".utf8) else { return false }
            rest = rest.dropFirst(13)
            let name = rest.prefix { $0 != UInt8(ascii: "\"") }
            guard name.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else { return false }
            rest = rest.dropFirst(name.count)
            guard rest.starts(with: "\">".utf8) else { return false }
            rest = rest.dropFirst(2)
        }
        return !rest.contains(UInt8(ascii: ">"))
    }

    /// Sends one request and reads its answer; on any failure or overrun the process is
    /// stopped, to be started afresh for the next request.
    private func exchange(_ items: [HighlightRequest.Item]) async -> [String?]? {
        do {
            let helper = try self.helper ?? start()
            self.helper = helper
            var line = ByteBuffer(bytes: try JSONEncoder().encode(items.map { [$0.lexer, $0.text] }))
            line.writeString("\n")
            let answer = try await withTimeLimit(timeLimit, "highlighting") { [line] in
                try await helper.input.write(line)
                return try await helper.readLine()
            }
            return try JSONDecoder().decode([String?].self, from: Data(answer.readableBytesView))
        } catch {
            logger.warning("highlight.failed", metadata: ["error": "\(error)"])
            helper?.stop()
            helper = nil
            return nil
        }
    }

    private func start() throws -> Helper {
        // Checked first: a spawn that fails leaves its pipes' other ends open, and the
        // request would then wait out its time limit.
        guard FileManager.default.isExecutableFile(atPath: python) else { throw HighlighterMissing(python: python) }
        let (input, inputForChild) = try PolledPipe.open(.toChild)
        let (output, outputForChild) = try PolledPipe.open(.fromChild)
        let (python, logger) = (python, logger)
        let running = Task.detached {
            do {
                _ = try await Subprocess.run(
                    .path(FilePath(python)), arguments: ["-c", Self.script], platformOptions: Git.platformOptions,
                    input: .fileDescriptor(inputForChild, closeAfterSpawningProcess: true),
                    output: .fileDescriptor(outputForChild, closeAfterSpawningProcess: true), error: .discarded
                ) { execution in
                    await withTaskCancellationHandler {
                        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                    } onCancel: {
                        try? execution.send(signal: .kill, toProcessGroup: true)
                    }
                }
            } catch {
                logger.warning("highlight.not_started", metadata: ["python": "\(python)", "error": "\(error)"])
            }
            // The pipes are closed by `stop`, once no request uses them.
        }
        return Helper(input: input, output: output, running: running)
    }

    private func acquire() async {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    /// One Python process and Cairn's ends of its pipes.
    private final class Helper: Sendable {
        let input: PolledPipe
        let output: PolledPipe
        let running: Task<Void, Never>
        private let pending = Mutex(ByteBuffer())

        init(input: PolledPipe, output: PolledPipe, running: Task<Void, Never>) {
            self.input = input
            self.output = output
            self.running = running
        }

        /// The next line the process writes, without its newline; throws at the end of its output.
        func readLine() async throws -> ByteBuffer {
            var buffer = pending.withLock { pending in
                defer { pending.clear() }
                return pending
            }
            while true {
                if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    let length = newline - buffer.readerIndex
                    let line = buffer.readSlice(length: length)!
                    buffer.moveReaderIndex(forwardBy: 1)
                    pending.withLock { $0 = buffer }
                    return line
                }
                guard var more = try await output.read(size: 1 << 16, hold: .milliseconds(1)) else {
                    throw HighlighterStopped()
                }
                buffer.writeBuffer(&more)
            }
        }

        func stop() {
            running.cancel()
            input.close()
            output.close()
        }
    }

    private struct HighlighterStopped: Error, CustomStringConvertible {
        var description: String { "the highlighter stopped" }
    }

    private struct HighlighterMissing: Error, CustomStringConvertible {
        let python: String
        var description: String { "\(python) is not an executable file" }
    }

    /// Reads requests (a JSON list of `[lexer, text]` pairs per line) and answers each with a
    /// JSON list of HTML fragments (null where a lexer failed). Pygments closes every span at
    /// the end of each line, so the lines can be shown one by one.
    static let script = """
    import json, sys
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    formatter = HtmlFormatter(nowrap=True)
    for request in sys.stdin:
        answers = []
        for lexer, text in json.loads(request):
            try:
                answers.append(highlight(text, get_lexer_by_name(lexer, stripnl=False, ensurenl=True), formatter) if text else "")
            except Exception:
                answers.append(None)
        sys.stdout.write(json.dumps(answers) + "\\n")
        sys.stdout.flush()
    """
}
