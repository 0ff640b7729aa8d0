import CZlib
import NIOCore

/// A piece of a page, deflated on its own so that pieces compressed at different times (a
/// cached file view, and the signed-in header rendered for this visitor) join into one
/// gzip body without compressing the large piece again: each piece is raw deflate ended by
/// a sync flush, so it starts and ends on a byte and refers to nothing before it, and the
/// gzip trailer's CRC is combined from the pieces' (zlib's `crc32_combine`), as pigz does.
/// zlib (Debian's zlib1g) does the compressing; no library here joins pieces, so that part is
/// written by hand.
struct DeflatedPiece: Sendable, Equatable {
    /// Raw deflate blocks, none of them final, ending on a byte boundary.
    let deflated: [UInt8]
    /// CRC-32 of the uncompressed bytes.
    let crc: UInt32
    /// How many bytes it stands for.
    let length: Int

    /// `text` deflated at `level` (1 fastest … 9 smallest).
    init(_ text: String, level: Int32 = 6) {
        var source = text
        let (deflated, crc, length) = source.withUTF8 { input in Self.deflate(input, level: level) }
        self.deflated = deflated
        self.crc = crc
        self.length = length
    }

    init(deflated: [UInt8], crc: UInt32, length: Int) {
        self.deflated = deflated
        self.crc = crc
        self.length = length
    }

    private static func deflate(_ input: UnsafeBufferPointer<UInt8>, level: Int32) -> ([UInt8], UInt32, Int) {
        // zlib counts in 32 bits; no page comes near, but a larger one must not trap.
        guard input.count < Int(UInt32.max) else { return (Self.stored(input), Self.crc(input), input.count) }
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return (Self.stored(input), Self.crc(input), input.count)
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 16)
        let produced = output.withUnsafeMutableBufferPointer { out -> Int in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = UInt32(input.count)
            stream.next_out = out.baseAddress
            stream.avail_out = UInt32(out.count)
            // Room left over means the flush is complete.
            guard CZlib.deflate(&stream, Z_SYNC_FLUSH) == Z_OK, stream.avail_in == 0, stream.avail_out > 0 else { return -1 }
            return out.count - Int(stream.avail_out)
        }
        guard produced >= 0 else { return (Self.stored(input), Self.crc(input), input.count) }
        output.removeSubrange(produced...)
        return (output, Self.crc(input), input.count)
    }

    private static func crc(_ input: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var crc: UInt = 0
        var rest = input[...]
        while !rest.isEmpty {  // in pieces zlib's 32-bit length can hold
            let piece = rest.prefix(1 << 30)
            crc = crc32(crc, UnsafeBufferPointer(rebasing: piece).baseAddress, UInt32(piece.count))
            rest = rest.dropFirst(piece.count)
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// `input` as stored (uncompressed) blocks, should zlib refuse: still valid deflate.
    private static func stored(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        var offset = 0
        repeat {
            let count = min(65_535, input.count - offset)
            output += [0, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
            output += input[offset..<offset + count]
            offset += count
        } while offset < input.count
        return output
    }

    /// The piece as bytes to keep: CRC (4 bytes), length (8), then the deflated bytes.
    var stored: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12 + deflated.count)
        withUnsafeBytes(of: crc.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt64(length).littleEndian) { bytes += $0 }
        return bytes + deflated
    }

    /// A piece from `stored`'s bytes, or nil when they are not one.
    init?(stored bytes: [UInt8]) {
        guard bytes.count >= 12 else { return nil }
        let crc = bytes[0..<4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let length = bytes[4..<12].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(Int.max) else { return nil }
        self.init(deflated: Array(bytes[12...]), crc: crc, length: Int(length))
    }

    /// One gzip body made of `pieces` in order.
    static func gzip(_ pieces: [DeflatedPiece]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(pieces.reduce(20) { $0 + $1.deflated.count })
        // Header: magic, deflate, no flags, no time, no extra flags, unknown system.
        buffer.writeBytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255])
        var crc: UInt = 0
        var length = 0
        for piece in pieces {
            buffer.writeBytes(piece.deflated)
            crc = crc32_combine(crc, UInt(piece.crc), off_t(piece.length))
            length &+= piece.length
        }
        buffer.writeBytes([0x03, 0x00])  // an empty final block ends the deflate stream
        buffer.writeInteger(UInt32(truncatingIfNeeded: crc), endianness: .little)
        buffer.writeInteger(UInt32(truncatingIfNeeded: length), endianness: .little)
        return buffer
    }
}
