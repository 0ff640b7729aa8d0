import Foundation

/// Writes the hooks every repository shares (through `core.hooksPath`).
///
/// `reference-transaction` writes, each time a push's ref changes are committed, a record of
/// them — the repository, the pusher and git's `<old> <new> <ref>` lines — into the push
/// spool (`CAIRN_SPOOL`, as `<CAIRN_PUSH_ID>.<pid>.push`), synced to disk and renamed into
/// place before git goes on to tell the client, so a ref a push changed is on disk even if
/// the repository store dies a moment later. Outside a push (no `CAIRN_PUSH_ID`) it does
/// nothing.
///
/// `pre-receive` refuses what the branch rules forbid: when the gateway sent rules with the
/// push (`CAIRN_BRANCH_RULES`), it runs this executable (`CAIRN_HOOK_BINARY pre-receive`,
/// see `PreReceiveHook`); a hook that cannot run refuses the push, never lets it through.
enum HookInstaller {
    static let preReceive = """
        #!/bin/sh
        # Installed by cairn-repostore: checks a push against its repository's branch rules (see PreReceiveHook).
        if [ -z "$CAIRN_BRANCH_RULES" ]; then cat > /dev/null; exit 0; fi
        exec "$CAIRN_HOOK_BINARY" pre-receive

        """

    static let referenceTransaction = """
        #!/bin/sh
        # Installed by cairn-repostore: records a push's committed ref changes in the store's spool (see PushSpool).
        if [ "$1" != committed ] || [ -z "$CAIRN_SPOOL" ] || [ -z "$CAIRN_PUSH_ID" ]; then cat > /dev/null; exit 0; fi
        record="$CAIRN_SPOOL/$CAIRN_PUSH_ID.$$"
        { printf 'repository %s\npusher %s\n' "$CAIRN_REPO_ID" "${CAIRN_PUSHER:--}"; cat; } > "$record.tmp" &&
          sync "$record.tmp" && mv "$record.tmp" "$record.push" && sync "$CAIRN_SPOOL" ||
          echo "cairn: could not record this push; its webhooks and notifications may not happen" >&2
        exit 0

        """

    static func install(at hooksPath: String) throws {
        try FileManager.default.createDirectory(atPath: hooksPath, withIntermediateDirectories: true)
        // The hook of earlier releases, which recorded pushes after git had answered.
        try? FileManager.default.removeItem(atPath: hooksPath + "/post-receive")
        for (name, script) in [("reference-transaction", referenceTransaction), ("pre-receive", preReceive)] {
            let path = hooksPath + "/" + name
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
    }
}
