import CairnRepoStore
import CairnProtocol
import CairnService

await DaemonRunner.main(.repostore, build: buildRepoStore)
