/// The rules for user and repository names, the same everywhere a name enters Cairn.
///
/// A name is 1–100 characters of ASCII letters, digits, `-`, `_` and `.`; it does not start
/// with `.` or `-`, does not end in `.git`, is not `.` or `..`, and is not one of the
/// reserved words that the gateway's own routes use.
public enum Names {
    public static let maximumLength = 100

    /// Words that would collide with the gateway's routes.
    public static let reserved: Set<String> = [
        "api", "admin", "static", "login", "logout", "signup", "sign-in", "sign-up", "sign-out", "settings",
        "explore", "new", "status", "healthz", "readyz", "metrics", "assets", "user", "users", "repos",
        "git", "lfs", "dl", "download", "downloads", "archive", "raw", "blob", "tree", "commits", "help", "about",
        "favicon.ico", "robots.txt",
    ]

    /// Why `name` is not a valid user or repository name, or nil when it is.
    public static func problem(with name: String, kind: String = "name") -> String? {
        if name.isEmpty { return "\(kind) must not be empty" }
        if name.utf8.count > maximumLength { return "\(kind) must be at most \(maximumLength) characters" }
        guard name.utf8.allSatisfy({ isAllowed($0) }) else {
            return "\(kind) may contain only ASCII letters, digits, '-', '_' and '.'"
        }
        if name.hasPrefix(".") || name.hasPrefix("-") { return "\(kind) must not start with '.' or '-'" }
        if name.lowercased().hasSuffix(".git") { return "\(kind) must not end in '.git'" }
        if reserved.contains(name.lowercased()) { return "\(kind) '\(name)' is reserved" }
        return nil
    }

    /// Whether `name` follows the rules.
    public static func isValid(_ name: String) -> Bool { problem(with: name) == nil }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): true
        default: false
        }
    }
}
