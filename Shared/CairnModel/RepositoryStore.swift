public import CairnDatabase
import CairnProtocol
public import Foundation
public import Logging
public import PostgresNIO

/// Repositories and their collaborators in the main database.
public struct RepositoryStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let select = """
        SELECT r.id, r.owner_id, u.username, r.name, r.description, r.is_private, r.default_branch, r.created_at, r.updated_at, r.pushed_at, r.cache_version, r.settings_version,
               r.parent_id, pu.username || '/' || p.name, p.is_private, r.status_version
        FROM repositories r JOIN users u ON u.id = r.owner_id
        LEFT JOIN repositories p ON p.id = r.parent_id AND p.deleted_at IS NULL LEFT JOIN users pu ON pu.id = p.owner_id
        """

    /// The live repository `owner/name` (case-insensitive), or nil.
    public func find(owner: String, name: String) async throws -> Repository? {
        for try await repository in try await client.run(FindByName(owner: owner, name: name), logger: logger) { return repository }
        return nil
    }

    /// `find(owner:name:)`, prepared: every repository page view and git request runs it.
    struct FindByName: PostgresPreparedStatement {
        static let sql = RepositoryStore.select + " WHERE lower(u.username) = lower($1) AND lower(r.name) = lower($2) AND r.deleted_at IS NULL"
        let owner: String
        let name: String

        func makeBindings() throws -> PostgresBindings { try RepositoryStore.binds(owner, name) }
        func decodeRow(_ row: PostgresRow) throws -> Repository { try RepositoryStore.decode(row) }
    }

    public func find(id: Int64) async throws -> Repository? {
        try await first(client.run(PostgresQuery(unsafeSQL: Self.select + " WHERE r.id = $1 AND r.deleted_at IS NULL", binds: try Self.binds(id)), logger: logger))
    }

    /// `owner`'s repositories that `viewer` may see, by name, one page at a time.
    public func list(ownerID: Int64, viewer: User?, limit: Int, offset: Int) async throws -> [Repository] {
        let viewerID = viewer?.id ?? 0
        let all = viewer?.isAdmin == true || viewerID == ownerID
        return try await collect(client.run(PostgresQuery(unsafeSQL: Self.select + """
             WHERE r.owner_id = $1 AND r.deleted_at IS NULL
             AND ($2 OR NOT r.is_private OR EXISTS (SELECT 1 FROM collaborators c WHERE c.repository_id = r.id AND c.user_id = $3))
             ORDER BY lower(r.name) LIMIT $4 OFFSET $5
            """, binds: try Self.binds(ownerID, all, viewerID, limit, offset)), logger: logger))
    }

    /// The live forks of `parentID` that `viewer` may see, oldest first, one page at a time.
    public func forks(of parentID: Int64, viewer: User?, limit: Int, offset: Int) async throws -> [Repository] {
        let viewerID = viewer?.id ?? 0
        return try await collect(client.run(PostgresQuery(unsafeSQL: Self.select + """
             WHERE r.parent_id = $1 AND r.deleted_at IS NULL
             AND ($2 OR NOT r.is_private OR r.owner_id = $3 OR EXISTS (SELECT 1 FROM collaborators c WHERE c.repository_id = r.id AND c.user_id = $3))
             ORDER BY r.created_at, r.id LIMIT $4 OFFSET $5
            """, binds: try Self.binds(parentID, viewer?.isAdmin == true, viewerID, limit, offset)), logger: logger))
    }

    /// The live fork of `parentID` that `owner` (a user name, any case) owns, if any.
    public func fork(of parentID: Int64, ownerName owner: String) async throws -> Repository? {
        try await first(client.run(PostgresQuery(unsafeSQL: Self.select + """
             WHERE r.parent_id = $1 AND lower(u.username) = lower($2) AND r.deleted_at IS NULL ORDER BY r.id LIMIT 1
            """, binds: try Self.binds(parentID, owner)), logger: logger))
    }

    /// Repositories `user` owns or collaborates on, by name, one page at a time.
    public func list(member user: User, limit: Int, offset: Int) async throws -> [Repository] {
        try await collect(client.run(PostgresQuery(unsafeSQL: Self.select + """
             WHERE r.deleted_at IS NULL
             AND (r.owner_id = $1 OR EXISTS (SELECT 1 FROM collaborators c WHERE c.repository_id = r.id AND c.user_id = $1))
             ORDER BY lower(u.username), lower(r.name) LIMIT $2 OFFSET $3
            """, binds: try Self.binds(user.id, limit, offset)), logger: logger))
    }

    /// Public repositories, newest first or most recently pushed first, one page at a time.
    public func listPublic(order: PublicOrder, limit: Int, offset: Int) async throws -> [Repository] {
        let orderBy = order == .newest ? "r.created_at DESC" : "r.pushed_at DESC NULLS LAST"
        return try await collect(client.run(PostgresQuery(unsafeSQL: Self.select + """
             WHERE r.deleted_at IS NULL AND NOT r.is_private ORDER BY \(orderBy), r.id DESC LIMIT $1 OFFSET $2
            """, binds: try Self.binds(limit, offset)), logger: logger))
    }

    /// The order of `listPublic`.
    public enum PublicOrder: String, Sendable {
        case newest, pushed
    }

    /// Records a push: sets the last-pushed time and retires cached pages.
    public func recordPush(_ id: Int64, at time: Date) async throws {
        _ = try await client.run("""
            UPDATE repositories SET pushed_at = greatest(pushed_at, \(time)), cache_version = cache_version + 1 WHERE id = \(id)
            """, logger: logger)
    }

    /// Records what the repository store measured after a push: size on disk, commits on
    /// the default branch, and bytes per language (as JSON).
    public func recordFigures(_ id: Int64, sizeBytes: Int, commitCount: Int, languages: [String: Int]) async throws {
        let json = String(decoding: try CairnJSON.encode(languages), as: UTF8.self)
        _ = try await client.run("""
            UPDATE repositories SET size_bytes = \(sizeBytes), commit_count = \(commitCount), languages = \(json) WHERE id = \(id)
            """, logger: logger)
    }

    /// Size, commit count and bytes per language as last recorded.
    public func figures(_ id: Int64) async throws -> (sizeBytes: Int, commitCount: Int, languages: [String: Int])? {
        let rows = try await client.run("SELECT size_bytes, commit_count, languages FROM repositories WHERE id = \(id)", logger: logger)
        for try await (size, count, languages) in rows.decode((Int, Int, String).self) {
            return (size, count, (try? CairnJSON.decode([String: Int].self, from: Data(languages.utf8))) ?? [:])
        }
        return nil
    }

    /// Retires the cached pages of a repository.
    public func bumpCacheVersion(_ id: Int64) async throws {
        _ = try await client.run("UPDATE repositories SET cache_version = cache_version + 1 WHERE id = \(id)", logger: logger)
    }

    /// Retires the cached pages of every repository of `ownerID` at once (after a change
    /// that shows on all of them); how many were bumped.
    public func bumpCacheVersions(ownerID: Int64) async throws -> Int {
        try await client.run(
            "UPDATE repositories SET cache_version = cache_version + 1 WHERE owner_id = \(ownerID) AND deleted_at IS NULL RETURNING 1", logger: logger
        ).count()
    }

    /// Retires the cached pages of every repository (after a change of how pages render).
    public func bumpAllCacheVersions() async throws -> Int {
        try await client.run("UPDATE repositories SET cache_version = cache_version + 1 WHERE deleted_at IS NULL RETURNING 1", logger: logger).count()
    }

    /// Inserts the row inside `connection`'s transaction; the caller creates the files.
    public func insert(owner: User, name: String, description: String, isPrivate: Bool, parent: Repository? = nil, on connection: PostgresConnection) async throws -> Repository {
        if let problem = Names.problem(with: name, kind: "repository name") { throw ModelError.invalid(field: "name", reason: problem) }
        guard description.count <= 1000 else { throw ModelError.invalid(field: "description", reason: "must be at most 1000 characters") }
        do {
            let rows = try await connection.run("""
                INSERT INTO repositories (owner_id, name, description, is_private, parent_id) VALUES (\(owner.id), \(name), \(description), \(isPrivate), \(parent?.id))
                RETURNING id, created_at
                """, logger: logger)
            for try await (id, created) in rows.decode((Int64, Date).self) {
                return Repository(
                    id: id, ownerID: owner.id, ownerName: owner.username, name: name, description: description, isPrivate: isPrivate, defaultBranch: parent?.defaultBranch,
                    createdAt: created, updatedAt: created, pushedAt: nil, parentID: parent?.id, parentFullName: parent?.fullName, parentIsPrivate: parent?.isPrivate ?? false)
            }
            throw ModelError.notFound("new repository")
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw ModelError.taken(field: "name", value: "\(owner.username)/\(name)")
        }
    }

    /// Changes name, description, visibility or default branch; nil leaves a field as it is.
    /// With `expectedVersion` (a settings form's), the change is made only if the settings are
    /// still at that version, else `ModelError.stale`.
    public func update(_ id: Int64, name: String?, description: String?, isPrivate: Bool?, defaultBranch: String?, expectedVersion: Int64? = nil) async throws {
        if let name, let problem = Names.problem(with: name, kind: "repository name") { throw ModelError.invalid(field: "name", reason: problem) }
        do {
            let rows = try await client.run("""
                UPDATE repositories SET name = coalesce(\(name), name), description = coalesce(\(description), description),
                is_private = coalesce(\(isPrivate), is_private), default_branch = coalesce(\(defaultBranch), default_branch), updated_at = now(),
                cache_version = cache_version + 1, settings_version = settings_version + 1
                WHERE id = \(id) AND deleted_at IS NULL AND (\(expectedVersion)::int8 IS NULL OR settings_version = \(expectedVersion))
                RETURNING 1
                """, logger: logger)
            if try await rows.count() == 0, expectedVersion != nil { throw ModelError.stale("the repository's settings") }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw ModelError.taken(field: "name", value: name ?? "")
        }
    }

    /// Sets the default branch inside `connection`'s transaction (a new repository's first commit).
    public func setDefaultBranch(_ id: Int64, _ branch: String, on connection: PostgresConnection) async throws {
        _ = try await connection.run("UPDATE repositories SET default_branch = \(branch) WHERE id = \(id)", logger: logger)
    }

    /// Marks the repository deleted inside `transaction` and enqueues the removal of its
    /// files, which the worker does only once the transaction has committed.
    public func markDeleted(_ repository: Repository, in transaction: OutboxTransaction) async throws {
        _ = try await transaction.connection.run("UPDATE repositories SET deleted_at = now() WHERE id = \(repository.id) AND deleted_at IS NULL", logger: logger)
        try await transaction.enqueue(TaskEnvelope(kind: "repo.delete", args: .object(["repository_id": .number(Double(repository.id))])), queue: QueueName.maintenance.rawValue)
    }

    /// What `user` (nil for anonymous) may do with `repository`.
    public func permission(of user: User?, on repository: Repository) async throws -> Permission {
        guard let user else { return repository.isPrivate ? .none : .read }
        if user.isAdmin || user.id == repository.ownerID { return .admin }
        var granted = repository.isPrivate ? Permission.none : .read
        let rows = try await client.run("SELECT permission FROM collaborators WHERE repository_id = \(repository.id) AND user_id = \(user.id)", logger: logger)
        for try await name in rows.decode(String.self) { granted = max(granted, Permission(name: name) ?? .none) }
        return granted
    }

    /// What a grant made for one repository allows on `repository` (a repository token, a
    /// deploy key, the LFS credential `cairn-sshd` hands out): on its own repository as far as
    /// both the grant and the person it acts for may; on any other only what anyone may.
    public func permission(ofGrant granted: Permission, madeFor grantRepositoryID: Int64, actingFor: User, on repository: Repository) async throws -> Permission {
        guard grantRepositoryID == repository.id else { return try await permission(of: nil, on: repository) }
        return min(granted, try await permission(of: actingFor, on: repository))
    }

    /// Those of `userIDs` who may read `repository`, in one query (the same rule as `permission`).
    public func readers(among userIDs: [Int64], of repository: Repository) async throws -> [Int64] {
        guard !userIDs.isEmpty else { return [] }
        let rows = try await client.run("""
            SELECT u.id FROM users u WHERE u.id = ANY(\(userIDs))
            AND (NOT \(repository.isPrivate) OR u.is_admin OR u.id = \(repository.ownerID)
                 OR EXISTS (SELECT 1 FROM collaborators c WHERE c.repository_id = \(repository.id) AND c.user_id = u.id))
            ORDER BY u.id
            """, logger: logger)
        var readers: [Int64] = []
        for try await id in rows.decode(Int64.self) { readers.append(id) }
        return readers
    }

    /// Adds or changes a collaborator.
    public func setCollaborator(repositoryID: Int64, userID: Int64, permission: Permission) async throws {
        _ = try await client.run("""
            INSERT INTO collaborators (repository_id, user_id, permission) VALUES (\(repositoryID), \(userID), \(permission.name))
            ON CONFLICT (repository_id, user_id) DO UPDATE SET permission = excluded.permission
            """, logger: logger)
        try await bumpCacheVersion(repositoryID)
    }

    /// Removes a collaborator; false when there was none.
    @discardableResult
    public func removeCollaborator(repositoryID: Int64, userID: Int64) async throws -> Bool {
        let rows = try await client.run("DELETE FROM collaborators WHERE repository_id = \(repositoryID) AND user_id = \(userID) RETURNING user_id", logger: logger)
        let removed = try await rows.count() > 0
        if removed { try await bumpCacheVersion(repositoryID) }
        return removed
    }

    /// The collaborators of a repository with their permission, by name.
    public func collaborators(repositoryID: Int64) async throws -> [(User, Permission)] {
        let rows = try await client.run("""
            SELECT \(unescaped: UserStore.columns("u")), c.permission
            FROM collaborators c JOIN users u ON u.id = c.user_id WHERE c.repository_id = \(repositoryID) ORDER BY lower(u.username)
            """, logger: logger)
        var result: [(User, Permission)] = []
        for try await row in rows {
            let cells = row.makeRandomAccess()
            result.append((try UserStore.user(cells), Permission(name: try cells[UserStore.columnCount].decode(String.self)) ?? .read))
        }
        return result
    }

    private func first(_ rows: PostgresRowSequence) async throws -> Repository? { try await collect(rows).first }

    private func collect(_ rows: PostgresRowSequence) async throws -> [Repository] {
        var result: [Repository] = []
        for try await row in rows { result.append(try Self.decode(row)) }
        return result
    }

    /// A repository as `select` reads it.
    static func decode(_ row: PostgresRow) throws -> Repository {
        let r = try row.decode((Int64, Int64, String, String, String, Bool, String?, Date, Date, Date?, Int64, Int64, Int64?, String?, Bool?).self)
        // A 16th column is past the widest tuple `decode` takes.
        let statusVersion = try row.makeRandomAccess()[15].decode(Int64.self, context: .default)
        return Repository(
            id: r.0, ownerID: r.1, ownerName: r.2, name: r.3, description: r.4, isPrivate: r.5, defaultBranch: r.6, createdAt: r.7, updatedAt: r.8,
            pushedAt: r.9, cacheVersion: r.10, settingsVersion: r.11, parentID: r.12, parentFullName: r.13, parentIsPrivate: r.14 ?? false,
            statusVersion: statusVersion)
    }

    private static func binds(_ values: any PostgresEncodable & Sendable...) throws -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { try bindings.append(value) }
        return bindings
    }
}
