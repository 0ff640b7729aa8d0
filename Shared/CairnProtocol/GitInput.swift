/// Rules for revisions and paths that reach git from outside.
public enum GitInput {
    /// Why `revision` (a branch, tag or commit id) cannot be used, or nil. Refuses option-like
    /// text, revision syntax that walks elsewhere (`..`, `@{`, `:`) and control characters.
    public static func revisionProblem(_ revision: String) -> String? {
        if revision.isEmpty || revision.utf8.count > 255 { return "revision must be 1 to 255 characters" }
        if revision.hasPrefix("-") { return "revision must not start with '-'" }
        if revision.contains("..") || revision.contains("@{") || revision.contains(":") || revision.contains("\\") {
            return "revision must be a branch, tag or commit id"
        }
        if revision.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || " ~^?*[".unicodeScalars.contains($0) }) {
            return "revision contains characters git does not allow"
        }
        return nil
    }

    /// Whether `text` is a full object id: 40 lowercase hexadecimal digits.
    public static func isObjectID(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Why `path` (inside a repository) cannot be used, or nil: no absolute paths, no `.` or
    /// `..` components, no NUL or control characters.
    public static func pathProblem(_ path: String) -> String? {
        if path.utf8.count > 4096 { return "path is too long" }
        if path.hasPrefix("/") { return "path must be relative to the repository root" }
        if path.unicodeScalars.contains(where: { $0.value < 0x20 }) { return "path must not contain control characters" }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) where component == ".." || component == "." {
            return "path must not contain '.' or '..' components"
        }
        return nil
    }
}
