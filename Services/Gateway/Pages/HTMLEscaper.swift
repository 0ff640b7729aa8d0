/// The one HTML escaper every page uses, for text and attribute values alike: `&`, `<`, `>`,
/// `"` and `'` become entities. It works on UTF-8 bytes and returns the string untouched
/// (no copy) when there is nothing to escape, which is most of the time.
/// Written here because swift-mustache's own escaper goes through a dictionary lookup per
/// Character, several times slower on the text of a page.
enum HTMLEscaper {
    static func escape(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            guard let first = bytes.firstIndex(where: needsEscaping) else { return nil }
            var output = [UInt8]()
            output.reserveCapacity(bytes.count + bytes.count / 8 + 16)
            output.append(contentsOf: bytes[..<first])
            for byte in bytes[first...] {
                switch byte {
                case UInt8(ascii: "&"): output.append(contentsOf: amp)
                case UInt8(ascii: "<"): output.append(contentsOf: lt)
                case UInt8(ascii: ">"): output.append(contentsOf: gt)
                case UInt8(ascii: "\""): output.append(contentsOf: quot)
                case UInt8(ascii: "'"): output.append(contentsOf: apos)
                default: output.append(byte)
                }
            }
            return String(decoding: output, as: UTF8.self)
        } ?? text
    }

    @inline(__always)
    private static func needsEscaping(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
    }

    private static let amp = Array("&amp;".utf8)
    private static let lt = Array("&lt;".utf8)
    private static let gt = Array("&gt;".utf8)
    private static let quot = Array("&quot;".utf8)
    private static let apos = Array("&#39;".utf8)
}
