import CairnDatabase
import CairnModel
import CairnProtocol
import CairnService
import Logging
import NIOCore
import NIOHTTP1

/// Creates and deletes repositories across the database and the repository store, so that a
/// failure on either side leaves neither (and `cairnctl check` finds anything that still does).
struct RepositoryService: Sendable {
    let repositories: RepositoryStore
    let outbox: Outbox
    let repostore: InternalClient
    let logger: Logger

    /// One transaction around the row; the repository store creates the files inside it. If
    /// the store fails, the row is rolled back; if the commit fails, the files are removed.
    /// With `initial`, the repository starts with that commit on `main`.
    func create(owner: User, name: String, description: String, isPrivate: Bool, initial: InitialCommit? = nil) async throws -> Repository {
        try await create(owner: owner, name: name, description: description, isPrivate: isPrivate, initial: initial, parent: nil)
    }

    /// A fork of `parent` for `owner`: private if the parent is, its refs and objects those of
    /// the parent now (the repository store links the parent's object files, so a fork costs
    /// kilobytes and stays whole when the parent is deleted).
    func fork(_ parent: Repository, owner: User, name: String?) async throws -> Repository {
        try await create(owner: owner, name: name ?? parent.name, description: parent.description, isPrivate: parent.isPrivate, initial: nil, parent: parent)
    }

    private func create(owner: User, name: String, description: String, isPrivate: Bool, initial: InitialCommit?, parent: Repository?) async throws -> Repository {
        let created = CreatedOnDisk()
        do {
            return try await outbox.transaction { transaction in
                let repository = try await repositories.insert(owner: owner, name: name, description: description, isPrivate: isPrivate, parent: parent, on: transaction.connection)
                do {
                    let query = parent.map { "?fork_of=\($0.id)" } ?? ""
                    try await repostore.expectSuccess(.PUT, "/repos/\(repository.id)\(query)", json: initial, user: owner.id, timeout: .minutes(5))
                } catch let error as InternalCallError {
                    throw GatewayError.unavailable("The repository store could not create the repository: \(error)")
                }
                created.id = repository.id
                if let branch = parent?.defaultBranch {
                    try await repositories.setDefaultBranch(repository.id, branch, on: transaction.connection)
                }
                guard initial != nil else { return repository }
                var withBranch = repository
                withBranch.defaultBranch = "main"
                try await repositories.setDefaultBranch(repository.id, "main", on: transaction.connection)
                return withBranch
            }
        } catch {
            if let id = created.id {
                do { try await repostore.expectSuccess(.DELETE, "/repos/\(id)") } catch {
                    logger.error("repository.orphan_files", metadata: ["repo.id": "\(id)", "error": "\(error)"])
                }
            }
            throw error
        }
    }

    /// Marks the repository deleted; the worker removes its files after the commit.
    func delete(_ repository: Repository) async throws {
        try await outbox.transaction { transaction in
            try await repositories.markDeleted(repository, in: transaction)
        }
    }
}

/// Remembers, across the transaction's closure, which repository got files on disk.
private final class CreatedOnDisk: @unchecked Sendable {
    // Written once inside the transaction body, read after it; never concurrently.
    var id: Int64?
}

extension InitialCommit {
    /// The README first commit offered when creating a repository (`auto_init` in the API).
    static func readme(name: String, description: String, author: User) -> InitialCommit {
        InitialCommit(path: "README.md", content: "# \(name)\n\n\(description)\n", message: "Initial commit", authorName: author.username, authorEmail: author.email)
    }
}
