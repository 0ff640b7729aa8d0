import CairnProtocol
import Foundation

/// The `pre-receive` hook's work, run as `cairn-repostore pre-receive` by the shared hook
/// script when a push carries branch rules (`CAIRN_BRANCH_RULES`, from the gateway): each
/// `<old> <new> <ref>` line on standard input is checked by `BranchGuard`, and any refusal
/// refuses the whole push, its reason printed for git to show as `remote: …`.
public enum PreReceiveHook {
    /// The exit status for git: 0 accepts the push.
    public static func run() async -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        let lines = readAllLines()
        guard let text = environment["CAIRN_BRANCH_RULES"], !text.isEmpty else { return 0 }
        guard let rules = try? JSONDecoder().decode(BranchRulesInForce.self, from: Data(text.utf8)) else {
            say("cairn: this repository's branch rules could not be read; nothing was changed. Try again, or tell the site's operator.")
            return 1
        }
        let branchGuard = BranchGuard(rules: rules, pusherID: environment["CAIRN_PUSHER"].flatMap { Int64($0) })
        var refused = false
        for line in lines {
            guard let update = RefUpdate(hookLine: line) else { continue }
            do {
                if let reason = try await branchGuard.refusal(ref: update.ref, old: update.old, new: update.new, isAncestor: isAncestor) {
                    say("cairn: \(reason)")
                    refused = true
                }
            } catch {
                say("cairn: could not check \(update.ref): \(error)")
                refused = true
            }
        }
        return refused ? 1 : 0
    }

    /// Whether `old` is in the history of `new`, asked of git in the repository the hook runs
    /// in (its quarantined objects included); anything but a clear yes is a no.
    static func isAncestor(_ old: String, _ new: String) throws -> Bool {
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "merge-base", "--is-ancestor", old, new]
        git.standardOutput = FileHandle.nullDevice
        git.standardError = FileHandle.nullDevice
        try git.run()
        git.waitUntilExit()
        return git.terminationStatus == 0
    }

    private static func readAllLines() -> [String] {
        var lines: [String] = []
        while let line = readLine() { lines.append(line) }
        return lines
    }

    private static func say(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
