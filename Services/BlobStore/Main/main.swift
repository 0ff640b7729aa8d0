import CairnBlobStore
import CairnProtocol
import CairnService

await DaemonRunner.main(.blobstore, build: buildBlobStore)
