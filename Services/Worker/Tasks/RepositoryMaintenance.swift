import CairnProtocol
import CairnService
import NIOCore
import NIOHTTP1

/// `repo.maintenance`: asks the repository store to write the commit-graph and bitmaps, so
/// that clones and fetches of big histories stay fast.
struct RepositoryMaintenance: TaskHandler {
    let repostore: InternalClient
    let kind = "repo.maintenance"
    let timeLimit: Duration = .seconds(1800)

    func handle(_ task: TaskEnvelope) async throws {
        do {
            try await repostore.expectSuccess(.POST, "/repos/\(try task.repositoryID())/maintenance", timeout: .minutes(30))
        } catch InternalCallError.refused(_, let status, _) where status == 409 {
            // Another run is at it now, which is what this task asked for.
        }
    }
}

/// `repo.delete`: removes a deleted repository's files. The task exists only if the
/// transaction that marked the row deleted committed (it came through the outbox).
struct RepositoryDeletion: TaskHandler {
    let repostore: InternalClient
    let kind = "repo.delete"
    let timeLimit: Duration = .seconds(600)

    func handle(_ task: TaskEnvelope) async throws {
        try await repostore.expectSuccess(.DELETE, "/repos/\(try task.repositoryID())", timeout: .minutes(10))
    }
}
