import CairnGateway
import CairnProtocol
import CairnService

await DaemonRunner.main(.gateway, build: buildGateway)
