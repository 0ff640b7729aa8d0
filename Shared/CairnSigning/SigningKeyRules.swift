/// What a signing key must be: whoever knows it can forge a session (an admin's among them)
/// or an internal request, so a key copied from an example, a placeholder left in a
/// template, or a short or repetitive string is refused when a daemon starts.
public enum SigningKeyRules {
    /// Words that mark a key as a placeholder or an example's.
    static let placeholderMarks = ["change-me", "changeme", "change_me", "placeholder", "example", "replace-me", "your-key", "secret-here", "random bytes", "openssl rand"]

    /// Why `key` may not sign, or nil when it may.
    public static func problem(with key: String) -> String? {
        guard key.utf8.count >= 32 else { return "must be at least 32 bytes, got \(key.utf8.count)" }
        let lowered = key.lowercased()
        if let mark = placeholderMarks.first(where: { lowered.contains($0) }) {
            return "is a placeholder (it contains \"\(mark)\"): set a random secret, e.g. from `openssl rand -base64 48`"
        }
        guard Set(key.unicodeScalars).count >= 12 else {
            return "is too repetitive to be secret (fewer than 12 different characters): set a random secret, e.g. from `openssl rand -base64 48`"
        }
        return nil
    }
}
