/// Strips the CGI header block (`Status:`, `Content-Type:` … up to the blank line) that
/// `git http-backend` writes before the body, keeping the status for the log.
struct CGIResponseReader {
    private var header: [UInt8] = []
    private(set) var headerDone = false
    private(set) var status = 200

    /// Feeds bytes of standard output; returns the body bytes among them.
    mutating func feed(_ bytes: [UInt8]) -> [UInt8] {
        if headerDone { return bytes }
        header += bytes
        guard let end = Self.endOfHeader(in: header) else { return [] }
        headerDone = true
        let text = String(decoding: header[..<end.start], as: UTF8.self)
        for line in text.split(whereSeparator: \.isNewline) where line.lowercased().hasPrefix("status:") {
            status = Int(line.dropFirst(7).trimmingPrefix(" ").prefix(3)) ?? 200
        }
        let body = Array(header[end.bodyStart...])
        header = []
        return body
    }

    private static func endOfHeader(in bytes: [UInt8]) -> (start: Int, bodyStart: Int)? {
        var index = 0
        while index + 1 < bytes.count {
            if bytes[index] == 10 && bytes[index + 1] == 10 { return (index, index + 2) }
            if index + 3 < bytes.count, bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
                return (index, index + 4)
            }
            index += 1
        }
        return nil
    }
}
