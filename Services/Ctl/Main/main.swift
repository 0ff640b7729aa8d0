import ArgumentParser
import CairnCtl
import CairnDatabase

// Parsed and dispatched by hand: with this toolchain, calling `run()` through
// `any AsyncParsableCommand` picks ParsableCommand's synchronous default (which prints help),
// so every cairnctl command also conforms to `CairnctlCommand`.
do {
    var command = try Cairnctl.parseAsRoot()
    if var runnable = command as? any CairnctlCommand {
        // An operator's command may run statements far longer than a request's.
        QueryDeadline.setProcessLimit(.seconds(86_400))
        try await runnable.execute()
    } else {
        try command.run()
    }
} catch {
    Cairnctl.exit(withError: error)
}
