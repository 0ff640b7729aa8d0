import CairnSSHD
import CairnProtocol
import CairnService

await DaemonRunner.main(.sshd, build: { try await buildSSHD($0) })
