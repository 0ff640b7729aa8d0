/// How strictly a push's objects are checked (`receive.fsckObjects` with `receive.fsck.<id>`
/// severities), given to every `git http-backend` so that it holds for repositories made by
/// any release.
///
/// With `receive.fsckObjects` on, git runs `index-pack --strict`, which turns every warning
/// into an error, so the cosmetic faults that long-lived histories carry would refuse the
/// whole push. The large hosts keep the checking on and lower those faults (Gitaly lowers
/// `badTimezone`, `missingSpaceBeforeDate` and `zeroPaddedFilemode`; GitHub accepts the rest
/// of the ident and date faults below). Cairn does the same, and keeps as errors everything
/// that protects the people who clone: `.gitmodules` and `.gitattributes` attacks, `.git`,
/// `.` and `..` path entries, trees git cannot check out (duplicate or unsorted entries,
/// empty or full-path names), bad or missing objects and hashes.
enum ReceiveChecks {
    /// Faults lowered to `ignore`, each found in real public histories, none of which changes
    /// what a checkout writes.
    static let ignored: [(id: String, why: String)] = [
        ("zeroPaddedFilemode", "trees written by git before 2006 and some other tools store modes as 040000"),
        ("badFilemode", "modes like 100664 from early git; checkouts treat them as 100644"),
        ("badTimezone", "time zones like +051800 or -0000 from early importers"),
        ("badDate", "dates a broken clock or importer wrote; only what logs show"),
        ("badDateOverflow", "dates past 2^64 from broken importers; only what logs show"),
        ("zeroPaddedDate", "dates written with leading zeros by some importers"),
        ("missingSpaceBeforeDate", "ident lines like `Name <mail>1234 +0000` from old tools"),
        ("missingSpaceBeforeEmail", "ident lines like `Name<mail>` from old tools"),
        ("missingNameBeforeEmail", "ident lines with an email but no name"),
        ("missingEmail", "ident lines with no email, from early imports"),
        ("badEmail", "email fields with stray characters"),
        ("badName", "names with angle brackets or newlines-like bytes from imports"),
        ("multipleAuthors", "commits with two author lines, from some import tools"),
        ("missingTaggerEntry", "tags made before git recorded a tagger"),
        ("badTagName", "tag objects whose name git would no longer accept as a ref"),
        ("extraHeaderEntry", "tag objects with headers git does not know"),
        ("nulInCommit", "commit messages with NUL bytes (already a warning in git)"),
    ]

    /// The `GIT_CONFIG_*` environment that turns checking on with these severities, followed
    /// by the `extra` settings.
    static func environment(extra: [(String, String)] = []) -> [String: String] {
        let pairs = [("receive.fsckObjects", "true")] + ignored.map { ("receive.fsck.\($0.id)", "ignore") } + extra
        var environment = ["GIT_CONFIG_COUNT": String(pairs.count)]
        for (index, pair) in pairs.enumerated() {
            environment["GIT_CONFIG_KEY_\(index)"] = pair.0
            environment["GIT_CONFIG_VALUE_\(index)"] = pair.1
        }
        return environment
    }
}
