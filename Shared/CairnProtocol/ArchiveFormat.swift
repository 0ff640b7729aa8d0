/// The formats of repository archives (`/<owner>/<repo>/archive/<ref>.tar.gz|.zip`), as
/// `git archive` writes them.
public enum ArchiveFormat: String, CaseIterable, Sendable {
    case tarGz = "tar.gz"
    case zip

    /// The media type an archive is served with.
    public var contentType: String {
        switch self {
        case .tarGz: "application/gzip"
        case .zip: "application/zip"
        }
    }

    /// The format a file name ends with, and the name without that ending.
    public static func split(_ fileName: String) -> (String, ArchiveFormat)? {
        for format in allCases where fileName.hasSuffix(".\(format.rawValue)") {
            let base = String(fileName.dropLast(format.rawValue.count + 1))
            return base.isEmpty ? nil : (base, format)
        }
        return nil
    }

    /// The folder every file of an archive sits in: `<repository>-<ref>`, with the ref's
    /// slashes turned into dashes (`cairn-v1.0`, `cairn-feature-x`).
    public static func prefix(repository: String, ref: String) -> String {
        "\(repository)-\(ref.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "-"))"
    }

    /// The name an archive is kept under: one per commit and format.
    public static func blobName(commit: String, format: ArchiveFormat) -> String { "\(commit).\(format.rawValue)" }

    /// Why `prefix` cannot be an archive's folder name, or nil when it can.
    public static func prefixProblem(_ prefix: String) -> String? {
        if prefix.isEmpty { return "prefix must not be empty" }
        if prefix.utf8.count > 255 { return "prefix must be at most 255 bytes" }
        if prefix == "." || prefix == ".." || prefix.hasPrefix("-") { return "prefix must not be `.`, `..` or start with `-`" }
        if prefix.contains(where: { $0 == "/" || $0 == "\\" || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false }) {
            return "prefix must not contain slashes or control characters"
        }
        return nil
    }
}
