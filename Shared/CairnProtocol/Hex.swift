extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal, two digits a byte (`String(format:)` costs far more).
    public var hexString: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

extension String {
    /// Whether this is a SHA-256 as blob names and LFS object ids write it: 64 lowercase hex digits.
    public var isSHA256Hex: Bool {
        utf8.count == 64 && utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

extension UInt8 {
    /// The value of this byte as a hexadecimal digit (either case), or nil.
    public var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    /// The longest run of whole characters from the start that fits in `maxBytes` UTF-8 bytes.
    public func prefix(utf8Bytes maxBytes: Int) -> String {
        guard utf8.count > maxBytes else { return self }
        var kept = ""
        var bytes = 0
        for character in self {
            bytes += character.utf8.count
            if bytes > maxBytes { break }
            kept.append(character)
        }
        return kept
    }
}
