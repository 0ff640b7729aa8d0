import Foundation
import Hummingbird
import NIOCore

/// The fields of a submitted HTML form (`application/x-www-form-urlencoded`, at most 1 MiB).
struct PageForm: Sendable {
    let fields: [String: String]
    static let maxBytes = 1 << 20

    subscript(_ name: String) -> String? { fields[name] }

    /// The trimmed value of `name`, or "" when absent.
    func text(_ name: String) -> String { (fields[name] ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }

    /// Whether a checkbox named `name` was ticked.
    func isChecked(_ name: String) -> Bool { fields[name].map { !$0.isEmpty && $0 != "0" && $0 != "off" } ?? false }

    static func read(_ request: Request) async throws -> PageForm {
        let type = request.headers[.contentType] ?? ""
        guard type.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            throw GatewayError.unsupported("Forms must be sent as application/x-www-form-urlencoded, not \(type.isEmpty ? "no content type" : type)")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw GatewayError.tooLarge("The form is larger than \(maxBytes >> 20) MiB")
        }
        return PageForm(fields: parse(String(buffer: body)))
    }

    /// Decodes `a=1&b=x+y`; later duplicates win; undecodable fields are skipped.
    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
