import CairnRepoStore
import CairnProtocol
import CairnService

import Foundation

// git runs this executable as the shared `pre-receive` hook when a push carries branch rules.
if CommandLine.arguments.dropFirst().first == "pre-receive" { exit(await PreReceiveHook.run()) }
await DaemonRunner.main(.repostore, build: buildRepoStore)
