import CairnProtocol
import Foundation

/// An event envelope (see `EventEnvelope`) as the stream processor reads it: only the
/// fields it counts. Unknown fields, in the envelope and in `data`, are skipped.
struct StreamEvent {
    var v = 0
    var type = ""
    var at = Date(timeIntervalSince1970: 0)
    var repoID: Int64?
    var visitor: String?
    /// `repo.view`: the path seen and the page's title.
    var path: String?
    var title: String?
    /// `repo.push`: commits the push brought.
    var commits: Double?
}

/// Why an envelope could not be read.
struct EnvelopeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Reads one JSON event envelope straight from its bytes.
///
/// Written by hand, on purpose: the processor must fold 50,000 events a second on two cores,
/// and decoding through Foundation's `JSONDecoder` and `Codable` cost about 8 µs an envelope
/// there, most of the processor's time. This reader allocates only the strings it keeps.
/// It accepts any JSON object (whitespace, escapes, fields in any order, nested values it
/// skips) and refuses anything that is not one, saying where.
struct EnvelopeReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    static func read(_ raw: [UInt8]) throws(EnvelopeError) -> StreamEvent {
        let result: Result<StreamEvent, EnvelopeError> = raw.withUnsafeBufferPointer { buffer in
            var reader = EnvelopeReader(bytes: buffer)
            return Result { () throws(EnvelopeError) in try reader.envelope() }
        }
        return try result.get()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private mutating func envelope() throws(EnvelopeError) -> StreamEvent {
        var event = StreamEvent()
        var seen: (v: Bool, type: Bool, at: Bool) = (false, false, false)
        skipWhitespace()
        try object { reader, key throws(EnvelopeError) in
            switch key {
            case "v": event.v = try reader.integer(key); seen.v = true
            case "type": event.type = try reader.string(key); seen.type = true
            case "at":
                let text = try reader.string(key)
                guard let date = CairnJSON.parseDate(text) else { throw EnvelopeError("at: not an ISO-8601 date: \(text.prefix(40))") }
                event.at = date
                seen.at = true
            case "repo_id": event.repoID = try reader.nullable { reader throws(EnvelopeError) in Int64(try reader.integer(key)) }
            case "visitor": event.visitor = try reader.nullable { reader throws(EnvelopeError) in try reader.string(key) }
            case "data":
                if try reader.isNull() { return }
                try reader.object { reader, key throws(EnvelopeError) in
                    switch key {
                    case "path": event.path = try reader.nullable { reader throws(EnvelopeError) in try reader.string("data.path") }
                    case "title": event.title = try reader.nullable { reader throws(EnvelopeError) in try reader.string("data.title") }
                    case "commits": event.commits = try reader.nullable { reader throws(EnvelopeError) in try reader.number("data.commits") }
                    default: try reader.skipValue()
                    }
                }
            default: try reader.skipValue()
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw EnvelopeError("unexpected text after the object at byte \(index)") }
        guard seen.v else { throw EnvelopeError("missing v") }
        guard seen.type else { throw EnvelopeError("missing type") }
        guard seen.at else { throw EnvelopeError("missing at") }
        return event
    }

    // MARK: JSON

    /// Reads an object, calling `member` with the reader positioned at each value.
    private mutating func object(_ member: (inout EnvelopeReader, String) throws(EnvelopeError) -> Void) throws(EnvelopeError) {
        try expect(UInt8(ascii: "{"), "an object")
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipWhitespace()
            let key = try string("a key")
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            try member(&self, key)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return
            default: throw EnvelopeError("expected ',' or '}' at byte \(index)")
            }
        }
    }

    private mutating func nullable<T>(_ read: (inout EnvelopeReader) throws(EnvelopeError) -> T) throws(EnvelopeError) -> T? {
        try isNull() ? nil : read(&self)
    }

    private mutating func isNull() throws(EnvelopeError) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func string(_ what: String) throws(EnvelopeError) -> String {
        guard peek() == UInt8(ascii: "\"") else { throw EnvelopeError("\(what) must be a string") }
        index += 1
        let start = index
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                defer { index += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            case UInt8(ascii: "\\"):
                index = start
                return try escapedString(what)
            case 0..<0x20: throw EnvelopeError("\(what): control character in a string at byte \(index)")
            default: index += 1
            }
        }
        throw EnvelopeError("\(what): unterminated string")
    }

    /// The slow path of `string`, for strings with escapes; `index` is just past the quote.
    private mutating func escapedString(_ what: String) throws(EnvelopeError) -> String {
        var scalars = String.UnicodeScalarView()
        var plain: [UInt8] = []
        func flush() { if !plain.isEmpty { scalars.append(contentsOf: String(decoding: plain, as: UTF8.self).unicodeScalars); plain.removeAll() } }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): plain.append(escape)
                case UInt8(ascii: "b"): plain.append(0x08)
                case UInt8(ascii: "f"): plain.append(0x0C)
                case UInt8(ascii: "n"): plain.append(0x0A)
                case UInt8(ascii: "r"): plain.append(0x0D)
                case UInt8(ascii: "t"): plain.append(0x09)
                case UInt8(ascii: "u"):
                    flush()
                    var code = try hex4(what)
                    if (0xD800..<0xDC00).contains(code), bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        let low = try hex4(what)
                        guard (0xDC00..<0xE000).contains(low) else { throw EnvelopeError("\(what): broken surrogate pair") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: throw EnvelopeError("\(what): unknown escape at byte \(index - 1)")
                }
            case 0..<0x20: throw EnvelopeError("\(what): control character in a string at byte \(index - 1)")
            default: plain.append(byte)
            }
        }
        throw EnvelopeError("\(what): unterminated string")
    }

    private mutating func hex4(_ what: String) throws(EnvelopeError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw EnvelopeError("\(what): short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = bytes[index].hexDigitValue else { throw EnvelopeError("\(what): bad \\u escape") }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// The text of a JSON number at `index`.
    private mutating func numberText(_ what: String) throws(EnvelopeError) -> String {
        let start = index
        while index < bytes.count, Self.mayBeInNumber(bytes[index]) { index += 1 }
        guard index > start else { throw EnvelopeError("\(what) must be a number") }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private static func mayBeInNumber(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): true
        default: false
        }
    }

    private mutating func number(_ what: String) throws(EnvelopeError) -> Double {
        guard let value = Double(try numberText(what)), value.isFinite else { throw EnvelopeError("\(what) must be a number") }
        return value
    }

    private mutating func integer(_ what: String) throws(EnvelopeError) -> Int {
        let value = try number(what)
        guard value == value.rounded(), abs(value) < 9e15 else { throw EnvelopeError("\(what) must be a whole number") }
        return Int(value)
    }

    private mutating func skipValue() throws(EnvelopeError) {
        switch peek() {
        case UInt8(ascii: "\""): _ = try string("a value")
        case UInt8(ascii: "{"): try object { reader, _ throws(EnvelopeError) in try reader.skipValue() }
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { index += 1; return }
            while true {
                skipWhitespace()
                try skipValue()
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return
                default: throw EnvelopeError("expected ',' or ']' at byte \(index)")
                }
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number("a value")
        }
    }

    private mutating func literal(_ word: StaticString) throws(EnvelopeError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw EnvelopeError("unexpected end at byte \(index)") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw EnvelopeError("unexpected text at byte \(index)")
        }
        index += count
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(EnvelopeError) {
        guard peek() == byte else { throw EnvelopeError(index >= bytes.count ? "unexpected end, expected \(what)" : "expected \(what) at byte \(index)") }
        index += 1
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
    }
}
