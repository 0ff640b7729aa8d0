import Foundation

/// Writes the hooks every repository shares (through `core.hooksPath`).
///
/// `post-receive` appends git's `<old> <new> <ref>` lines to the file that the repository
/// store named in `CAIRN_PUSH_LOG` for that push; the store reads it when the push ends.
enum HookInstaller {
    static let postReceive = """
        #!/bin/sh
        # Installed by cairn-repostore: records this push's ref updates for the store.
        if [ -n "$CAIRN_PUSH_LOG" ]; then cat >> "$CAIRN_PUSH_LOG"; else cat > /dev/null; fi
        exit 0

        """

    static func install(at hooksPath: String) throws {
        try FileManager.default.createDirectory(atPath: hooksPath, withIntermediateDirectories: true)
        let path = hooksPath + "/post-receive"
        try postReceive.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }
}
