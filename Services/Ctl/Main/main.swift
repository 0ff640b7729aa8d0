import ArgumentParser
import CairnCtl

// Parsed and dispatched by hand: with this toolchain, calling `run()` through
// `any AsyncParsableCommand` picks ParsableCommand's synchronous default (which prints help),
// so every cairnctl command also conforms to `CairnctlCommand`.
do {
    var command = try Cairnctl.parseAsRoot()
    if var runnable = command as? any CairnctlCommand {
        try await runnable.execute()
    } else {
        try command.run()
    }
} catch {
    Cairnctl.exit(withError: error)
}
