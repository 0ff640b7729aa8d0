import CairnService
import Foundation

/// How pages show dates, ages and sizes.
enum PageFormat {
    static func date(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day())
    }

    /// "just now", "5 minutes ago", "3 days ago", then the date.
    static func age(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        switch seconds {
        case ..<60: return "just now"
        case ..<3600: return plural(seconds / 60, "minute") + " ago"
        case ..<86400: return plural(seconds / 3600, "hour") + " ago"
        case ..<(30 * 86400): return plural(seconds / 86400, "day") + " ago"
        default: return Self.date(date)
        }
    }

    /// The age of a git date (ISO 8601 with offset), or the text itself if it does not parse.
    static func age(git text: String) -> String {
        (try? Date(text, strategy: .iso8601)).map { age($0) } ?? text
    }

    static func size(_ bytes: Int) -> String {
        switch bytes {
        case ..<1024: return "\(bytes) B"
        case ..<(1 << 20): return String(format: "%.1f KB", Double(bytes) / 1024)
        case ..<(1 << 30): return String(format: "%.1f MB", Double(bytes) / Double(1 << 20))
        default: return String(format: "%.1f GB", Double(bytes) / Double(1 << 30))
        }
    }

    static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

    /// The first line of a commit message.
    static func summary(_ message: String) -> String {
        String(message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: true).first ?? "")
    }

    /// A path with each segment percent-encoded, slashes kept, for links.
    static func pathLink(_ path: String) -> String { InternalClient.percentEncode(path) }
}
