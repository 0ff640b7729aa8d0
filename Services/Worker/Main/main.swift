import CairnWorker
import CairnProtocol
import CairnService

await DaemonRunner.main(.worker, build: buildWorker)
