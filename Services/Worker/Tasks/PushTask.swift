import CairnModel
import CairnProtocol
import CairnService

/// `push`: what follows a push that the repository store recorded. It sets the
/// repository's last-pushed time, bumps its cache version (retiring cached pages), and
/// takes the branch the first push created as the default branch.
/// Webhook deliveries and size, commit-count and language figures join it later.
struct PushTask: TaskHandler {
    let repositories: RepositoryStore
    let repostore: InternalClient
    let kind = "push"
    let timeLimit: Duration = .seconds(60)

    func handle(_ task: TaskEnvelope) async throws {
        let id = try task.repositoryID()
        guard let repository = try await repositories.find(id: id) else { return }  // deleted since
        try await repositories.recordPush(id, at: task.enqueuedAt)
        if repository.defaultBranch == nil, let head = try await repostore.getJSON(GitRefs.self, "/repos/\(id)/refs")?.head {
            try await repositories.update(id, name: nil, description: nil, isPrivate: nil, defaultBranch: head)
        }
    }
}
