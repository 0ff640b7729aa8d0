public import Hummingbird

/// The one way a number is read from a request's query: parsed with bounds, so no value a
/// client sends (huge, negative, not a number) can reach arithmetic that would trap and stop
/// the daemon. A bad value is the client's error (400), naming the parameter and its range.
public enum QueryNumber {
    /// `name` from `request`'s query as a whole number in `range`; `fallback` when absent or
    /// empty. Throws 400 for anything else.
    public static func read(_ request: Request, _ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let text = request.uri.queryParameters[Substring(name)], !text.isEmpty else { return fallback }
        guard let value = parse(text, in: range) else { throw invalid(name, range) }
        return value
    }

    /// Like `read`, but a whole number above the range is lowered to its top, as GitHub does
    /// with `per_page`.
    public static func readClamped(_ request: Request, _ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let text = request.uri.queryParameters[Substring(name)], !text.isEmpty else { return fallback }
        guard text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { throw invalid(name, range) }
        let value = text.utf8.count > 18 ? range.upperBound : min(Int(text) ?? range.upperBound, range.upperBound)
        guard value >= range.lowerBound else { throw invalid(name, range) }
        return value
    }

    /// `text` as a decimal whole number within `range`, or nil (not a number, too long to fit,
    /// or outside the range).
    public static func parse(_ text: some StringProtocol, in range: ClosedRange<Int>) -> Int? {
        guard text.utf8.count <= 19, let value = Int(text), range.contains(value) else { return nil }
        return value
    }

    private static func invalid(_ name: String, _ range: ClosedRange<Int>) -> HTTPError {
        HTTPError(.badRequest, message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
    }
}
