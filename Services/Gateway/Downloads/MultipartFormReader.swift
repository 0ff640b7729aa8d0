import Foundation
import Hummingbird
import MultipartKit
import NIOCore

/// Reads a `multipart/form-data` request body as it arrives: the text fields before the
/// file, then the file's bytes as a stream (`FileBytes`), so an upload of any size passes
/// through with a chunk or two in memory. Parsing is MultipartKit's; this only turns its
/// callbacks into pulls.
///
/// Everything but the first file's content (text fields, part headers, boundaries, any
/// further file) is capped at `maxFormBytes` in all, so that no form makes the gateway
/// keep or parse an unbounded amount; each text field at `maxFieldBytes`.
///
/// One task uses a reader at a time: the handler, or the HTTP client streaming `FileBytes`
/// while the handler awaits it (hence `@unchecked Sendable`).
final class MultipartFormReader: @unchecked Sendable {
    /// What the body held next.
    enum Item: Equatable {
        case field(name: String, value: String)
        /// A file part begins (its bytes follow as `.chunk`s, then `.fileEnd`).
        case file(name: String, filename: String)
        case chunk(ByteBuffer)
        case fileEnd
    }

    private var body: RequestBody.AsyncIterator
    private let parser: MultipartParser
    private var ready: [Item] = []
    private var headers: [String: String] = [:]
    private var fieldValue: [UInt8] = []
    private var inFile = false
    private var finished = false
    /// Set when a text field ran past `maxFieldBytes` (only that much plus one byte is kept).
    private var fieldTooLong = false
    /// How many file parts have begun.
    private var filesStarted = 0
    /// The body's bytes read so far, and how many of them were the first file's content.
    private var bytesRead = 0
    private var firstFileBytes = 0
    /// The most a text field may hold.
    static let maxFieldBytes = 64 << 10
    /// The most the whole form may hold besides its first file's content.
    static let maxFormBytes = 256 << 10

    /// A reader of `body`, if `contentType` is `multipart/form-data` with a boundary.
    init?(_ body: RequestBody, contentType: String?) {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundary = Self.parameter("boundary", in: contentType), !boundary.isEmpty, boundary.count <= 200 else { return nil }
        self.body = body.makeAsyncIterator()
        parser = MultipartParser(boundary: boundary)
        parser.onHeader = { [unowned self] name, value in headers[name.lowercased()] = value }
        parser.onBody = { [unowned self] buffer in
            if startFileIfNeeded() {
                if filesStarted == 1 { firstFileBytes += buffer.readableBytes }
                ready.append(.chunk(buffer))
            } else {
                fieldValue += buffer.readableBytesView.prefix(Self.maxFieldBytes + 1 - fieldValue.count)
            }
        }
        parser.onPartComplete = { [unowned self] in
            if startFileIfNeeded() {
                ready.append(.fileEnd)
            } else if let name = partName {
                if fieldValue.count > Self.maxFieldBytes { fieldTooLong = true }
                ready.append(.field(name: name, value: String(decoding: fieldValue, as: UTF8.self)))
            }
            headers = [:]
            fieldValue = []
            inFile = false
        }
    }

    /// The next item, or nil at the end of the body.
    func next() async throws -> Item? {
        while ready.isEmpty {
            guard !finished else { return nil }
            guard let chunk = try await body.next() else {
                finished = true
                continue
            }
            bytesRead += chunk.readableBytes
            do {
                try parser.execute(chunk)
            } catch {
                throw GatewayError.invalid("the upload is not valid multipart/form-data")
            }
            if bytesRead - firstFileBytes > Self.maxFormBytes {
                throw GatewayError.tooLarge("the form holds more than \(Self.maxFormBytes >> 10) KiB besides its file")
            }
            if fieldTooLong {
                throw GatewayError.invalid("a form field is longer than \(Self.maxFieldBytes) bytes")
            }
        }
        return ready.removeFirst()
    }

    /// The current file's bytes, up to its end.
    var fileBytes: FileBytes { FileBytes(reader: self) }

    struct FileBytes: AsyncSequence, Sendable {
        let reader: MultipartFormReader

        struct AsyncIterator: AsyncIteratorProtocol {
            let reader: MultipartFormReader
            var done = false

            mutating func next() async throws -> ByteBuffer? {
                guard !done else { return nil }
                switch try await reader.next() {
                case .chunk(let buffer): return buffer
                case .fileEnd: done = true; return nil
                default: throw GatewayError.invalid("the upload ended before its file did")
                }
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
    }

    /// Reads what is left of the body.
    func drain() async throws {
        while try await next() != nil {}
    }

    private var partName: String? { headers["content-disposition"].flatMap { Self.parameter("name", in: $0) } }

    /// Whether the current part is a file, announcing it the first time.
    private func startFileIfNeeded() -> Bool {
        if inFile { return true }
        guard let disposition = headers["content-disposition"], let filename = Self.parameter("filename", in: disposition) else { return false }
        inFile = true
        filesStarted += 1
        ready.append(.file(name: partName ?? "", filename: filename))
        return true
    }

    /// The value of `name=value` or `name="value"` in a header.
    static func parameter(_ name: String, in header: String) -> String? {
        for part in header.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.replacingOccurrences(of: "\\\"", with: "\"")
        }
        return nil
    }
}
