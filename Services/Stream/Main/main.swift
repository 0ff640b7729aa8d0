import CairnStream
import CairnProtocol
import CairnService

await DaemonRunner.main(.stream, build: buildStream)
