public import CairnDatabase
public import CairnProtocol
public import Foundation
public import Logging
public import PostgresNIO

/// Pull requests, their reviews and comments in the main database.
public struct PullRequestStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The most characters of a title and of a body or comment.
    public static let maxTitle = 256
    public static let maxBody = 65_536

    static let select = """
        SELECT p.id, p.repository_id, p.number, p.author_id, a.username, p.title, p.body, p.head_repository_id, hu.username || '/' || h.name,
               p.head_ref, p.base_ref, p.state, p.head_sha, p.base_sha, p.mergeable, p.conflicts, p.merge_test_sha, p.commit_count,
               p.merged_at, m.username, p.merge_commit_sha, p.created_at, p.updated_at, p.closed_at, p.merged_by
        FROM pull_requests p JOIN users a ON a.id = p.author_id
        LEFT JOIN repositories h ON h.id = p.head_repository_id AND h.deleted_at IS NULL LEFT JOIN users hu ON hu.id = h.owner_id
        LEFT JOIN users m ON m.id = p.merged_by
        """

    /// Why a title or body cannot be used, as a `ModelError`.
    public static func check(title: String?, body: String?) throws {
        if let title {
            let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, trimmed.count <= maxTitle else { throw ModelError.invalid(field: "title", reason: "must be 1 to \(maxTitle) characters") }
            guard !title.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) else { throw ModelError.invalid(field: "title", reason: "must be one line") }
        }
        if let body {
            guard body.count <= maxBody else { throw ModelError.invalid(field: "body", reason: "must be at most \(maxBody) characters") }
            guard !body.contains("\0") else { throw ModelError.invalid(field: "body", reason: "must not contain NUL") }
        }
    }

    /// A new open pull request numbered by `base`'s counter; `ModelError.taken` when one is
    /// already open for the same head and base. `prepare` gets the number inside the
    /// transaction (which holds the counter, so numbers come in order): it syncs the branches,
    /// and a throw from it creates nothing and uses no number.
    public func create(
        base: Repository, author: User, title: String, body: String, headRepositoryID: Int64, headRef: String, baseRef: String,
        prepare: (Int64) async throws -> PullSyncState
    ) async throws -> PullRequest {
        try Self.check(title: title, body: body)
        let title = title.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let id = try await client.withUnwrappedTransaction(logger: logger) { connection in
                let numbers = try await connection.run("UPDATE repositories SET pull_counter = pull_counter + 1 WHERE id = \(base.id) RETURNING pull_counter", logger: logger)
                var number: Int64 = 0
                for try await value in numbers.decode(Int64.self) { number = value }
                guard number > 0 else { throw ModelError.notFound("repository \(base.fullName)") }
                let sync = try await prepare(number)
                let rows = try await connection.run("""
                    INSERT INTO pull_requests (repository_id, number, author_id, title, body, head_repository_id, head_ref, base_ref,
                        head_sha, base_sha, mergeable, conflicts, merge_test_sha, commit_count)
                    VALUES (\(base.id), \(number), \(author.id), \(title), \(body), \(headRepositoryID), \(headRef), \(baseRef),
                        \(sync.headSHA ?? ""), \(sync.baseSHA ?? ""), \(sync.mergeable), \(sync.conflicts), \(sync.mergeSHA), \(sync.commits)) RETURNING id
                    """, logger: logger)
                for try await id in rows.decode(Int64.self) { return id }
                throw ModelError.notFound("new pull request")
            }
            guard let created = try await find(id: id) else { throw ModelError.notFound("new pull request") }
            return created
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw ModelError.taken(field: "head", value: "\(headRef) → \(baseRef): a pull request for them is already open")
        }
    }

    public func find(id: Int64) async throws -> PullRequest? {
        try await collect(client.run(PostgresQuery(unsafeSQL: Self.select + " WHERE p.id = $1", binds: try Self.binds(id)), logger: logger)).first
    }

    /// Pull request `number` of repository `repositoryID`.
    public func find(repositoryID: Int64, number: Int64) async throws -> PullRequest? {
        for try await pull in try await client.run(FindByNumber(repositoryID: repositoryID, number: number), logger: logger) { return pull }
        return nil
    }

    /// `find(repositoryID:number:)`, prepared: every pull request page and API call runs it.
    struct FindByNumber: PostgresPreparedStatement {
        static let sql = PullRequestStore.select + " WHERE p.repository_id = $1 AND p.number = $2"
        let repositoryID: Int64
        let number: Int64

        func makeBindings() throws -> PostgresBindings { try PullRequestStore.binds(repositoryID, number) }
        func decodeRow(_ row: PostgresRow) throws -> PullRequest { try PullRequestStore.decode(row) }
    }

    /// Which pull requests a list shows.
    public enum Filter: String, Sendable, CaseIterable {
        case open, closed, merged, all
    }

    /// One page of a repository's pull requests, newest first; `authorID` keeps one author's.
    public func list(repositoryID: Int64, filter: Filter, authorID: Int64? = nil, limit: Int, offset: Int) async throws -> [PullRequest] {
        let condition = switch filter {
        case .open: " AND p.state = 'open'"
        case .closed: " AND p.state = 'closed'"
        case .merged: " AND p.merged_at IS NOT NULL"
        case .all: ""
        }
        return try await collect(client.run(PostgresQuery(unsafeSQL: Self.select + """
             WHERE p.repository_id = $1\(condition) AND ($2::bigint = 0 OR p.author_id = $2) ORDER BY p.number DESC LIMIT $3 OFFSET $4
            """, binds: try Self.binds(repositoryID, authorID ?? 0, limit, offset)), logger: logger))
    }

    /// How many open pull requests a repository has.
    public func openCount(repositoryID: Int64) async throws -> Int {
        let rows = try await client.run("SELECT count(*)::int FROM pull_requests WHERE repository_id = \(repositoryID) AND state = 'open'", logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    /// The open pull requests a push to `branches` of repository `repositoryID` moved: those
    /// whose head or whose base is one of them.
    public func openPulls(repositoryID: Int64, branches: [String]) async throws -> [PullRequest] {
        guard !branches.isEmpty else { return [] }
        return try await collect(client.run(PostgresQuery(unsafeSQL: Self.select + """
             WHERE p.state = 'open' AND ((p.head_repository_id = $1 AND p.head_ref = ANY($2)) OR (p.repository_id = $1 AND p.base_ref = ANY($2)))
             ORDER BY p.id LIMIT 1000
            """, binds: try Self.binds(repositoryID, branches)), logger: logger))
    }

    /// Records where the branches stand after the repository store synced them.
    public func recordSync(_ id: Int64, _ sync: PullSyncState) async throws {
        _ = try await client.run("""
            UPDATE pull_requests SET head_sha = coalesce(\(sync.headSHA), head_sha), base_sha = coalesce(\(sync.baseSHA), base_sha),
                mergeable = \(sync.mergeable), conflicts = \(sync.conflicts), merge_test_sha = \(sync.mergeSHA), commit_count = \(sync.commits)
            WHERE id = \(id)
            """, logger: logger)
    }

    /// Changes title, body or base branch; nil leaves a field as it is.
    public func update(_ id: Int64, title: String?, body: String?, baseRef: String?) async throws {
        try Self.check(title: title, body: body)
        let title = title?.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            _ = try await client.run("""
                UPDATE pull_requests SET title = coalesce(\(title), title), body = coalesce(\(body), body), base_ref = coalesce(\(baseRef), base_ref), updated_at = now()
                WHERE id = \(id)
                """, logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw ModelError.taken(field: "base", value: "\(baseRef ?? ""): a pull request for this head and base is already open")
        }
    }

    /// Closes or reopens; false when it was already so (or is merged, which stays closed).
    @discardableResult
    public func setState(_ id: Int64, _ state: PullRequest.State) async throws -> Bool {
        do {
            return try await client.run("""
                UPDATE pull_requests SET state = \(state.rawValue), updated_at = now(), closed_at = CASE WHEN \(state.rawValue) = 'closed' THEN now() END
                WHERE id = \(id) AND state <> \(state.rawValue) AND merged_at IS NULL RETURNING 1
                """, logger: logger).count() == 1
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw ModelError.taken(field: "state", value: "open: another pull request for this head and base is open")
        }
    }

    /// Records a merge: closed, merged by `userID` into commit `sha`; false when it was no
    /// longer open (merged or closed by someone else meanwhile).
    public func markMerged(_ id: Int64, by userID: Int64, sha: String, headSHA: String) async throws -> Bool {
        try await client.run("""
            UPDATE pull_requests SET state = 'closed', merged_at = now(), closed_at = now(), updated_at = now(), merged_by = \(userID),
                merge_commit_sha = \(sha), head_sha = \(headSHA)
            WHERE id = \(id) AND state = 'open' AND merged_at IS NULL RETURNING 1
            """, logger: logger).count() == 1
    }

    /// Who takes part in a pull request: its author, and everyone who commented or reviewed.
    public func participants(pullRequestID: Int64) async throws -> [Int64] {
        let rows = try await client.run("""
            SELECT author_id FROM pull_requests WHERE id = \(pullRequestID)
            UNION SELECT author_id FROM pull_comments WHERE pull_request_id = \(pullRequestID)
            UNION SELECT author_id FROM pull_reviews WHERE pull_request_id = \(pullRequestID)
            UNION SELECT user_id FROM pull_review_requests WHERE pull_request_id = \(pullRequestID)
            """, logger: logger)
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        return ids
    }

    // MARK: Requested reviewers

    /// Asks `userIDs` for a review (those asked already stay as they were).
    public func requestReviews(pullRequestID: Int64, userIDs: [Int64], fromCodeOwners: Bool = false) async throws {
        guard !userIDs.isEmpty else { return }
        _ = try await client.run("""
            INSERT INTO pull_review_requests (pull_request_id, user_id, from_code_owners)
            SELECT \(pullRequestID), id, \(fromCodeOwners) FROM unnest(\(userIDs)::int8[]) AS t (id) ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// No longer waits for the reviews of `userIDs`.
    public func removeReviewRequests(pullRequestID: Int64, userIDs: [Int64]) async throws {
        guard !userIDs.isEmpty else { return }
        _ = try await client.run("DELETE FROM pull_review_requests WHERE pull_request_id = \(pullRequestID) AND user_id = ANY(\(userIDs)::int8[])", logger: logger)
    }

    /// Whose reviews each of `pullRequestIDs` waits for (id and user name), in one query.
    public func requestedReviewers(pullRequestIDs: [Int64]) async throws -> [Int64: [(id: Int64, username: String)]] {
        guard !pullRequestIDs.isEmpty else { return [:] }
        let rows = try await client.run("""
            SELECT q.pull_request_id, u.id, u.username FROM pull_review_requests q JOIN users u ON u.id = q.user_id
            WHERE q.pull_request_id = ANY(\(pullRequestIDs)::int8[]) ORDER BY q.pull_request_id, lower(u.username)
            """, logger: logger)
        var result: [Int64: [(id: Int64, username: String)]] = [:]
        for try await (pull, id, name) in rows.decode((Int64, Int64, String).self) { result[pull, default: []].append((id, name)) }
        return result
    }

    /// Whose reviews a pull request waits for, by name: id, user name, and whether CODEOWNERS asked.
    public func requestedReviewers(pullRequestID: Int64) async throws -> [(id: Int64, username: String, fromCodeOwners: Bool)] {
        let rows = try await client.run("""
            SELECT u.id, u.username, q.from_code_owners FROM pull_review_requests q JOIN users u ON u.id = q.user_id
            WHERE q.pull_request_id = \(pullRequestID) ORDER BY lower(u.username) LIMIT 100
            """, logger: logger)
        var result: [(id: Int64, username: String, fromCodeOwners: Bool)] = []
        for try await (id, name, owners) in rows.decode((Int64, String, Bool).self) { result.append((id, name, owners)) }
        return result
    }

    // MARK: Comments and reviews

    static let commentColumns = """
        c.id, c.pull_request_id, c.author_id, u.username, c.review_id, c.body, c.commit_sha, c.path, c.side, c.line, c.created_at, c.updated_at
        """

    /// A comment on the conversation, or with `anchor` on a line of the diff.
    public func addComment(pullRequestID: Int64, author: User, body: String, anchor: PullComment.Anchor?, reviewID: Int64? = nil) async throws -> PullComment {
        try Self.checkComment(body)
        let rows = try await client.run("""
            INSERT INTO pull_comments (pull_request_id, author_id, review_id, body, commit_sha, path, side, line)
            VALUES (\(pullRequestID), \(author.id), \(reviewID), \(body), \(anchor?.commitSHA), \(anchor?.path), \(anchor?.side), \(anchor?.line)) RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) {
            if let comment = try await comment(id: id) { return comment }
        }
        throw ModelError.notFound("new comment")
    }

    private static func checkComment(_ body: String) throws {
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ModelError.invalid(field: "body", reason: "must not be empty") }
        try check(title: nil, body: body)
    }

    public func comment(id: Int64) async throws -> PullComment? {
        try await comments(where: "c.id = $1", id).first
    }

    /// A pull request's comments, oldest first: the conversation's and the inline ones.
    public func comments(pullRequestID: Int64, limit: Int = 1000, offset: Int = 0) async throws -> [PullComment] {
        try await comments(where: "c.pull_request_id = $1 ORDER BY c.id LIMIT \(limit) OFFSET \(offset)", pullRequestID)
    }

    private func comments(where condition: String, _ id: Int64) async throws -> [PullComment] {
        let rows = try await client.run(PostgresQuery(unsafeSQL: "SELECT \(Self.commentColumns) FROM pull_comments c JOIN users u ON u.id = c.author_id WHERE " + condition, binds: try Self.binds(id)), logger: logger)
        var result: [PullComment] = []
        for try await row in rows {
            let c = try row.decode((Int64, Int64, Int64, String, Int64?, String, String?, String?, String?, Int?, Date, Date).self)
            var anchor: PullComment.Anchor?
            if let sha = c.6, let path = c.7, let side = c.8, let line = c.9 { anchor = .init(commitSHA: sha, path: path, side: side, line: line) }
            result.append(PullComment(id: c.0, pullRequestID: c.1, authorID: c.2, authorName: c.3, reviewID: c.4, body: c.5, anchor: anchor, createdAt: c.10, updatedAt: c.11))
        }
        return result
    }

    public func updateComment(_ id: Int64, body: String) async throws {
        try Self.checkComment(body)
        _ = try await client.run("UPDATE pull_comments SET body = \(body), updated_at = now() WHERE id = \(id)", logger: logger)
    }

    public func deleteComment(_ id: Int64) async throws {
        _ = try await client.run("DELETE FROM pull_comments WHERE id = \(id)", logger: logger)
    }

    /// A review at `commitSHA` with its inline comments, in one transaction.
    public func addReview(pullRequestID: Int64, author: User, state: PullReview.State, body: String, commitSHA: String, comments: [(body: String, anchor: PullComment.Anchor)]) async throws -> PullReview {
        try Self.check(title: nil, body: body)
        for comment in comments { try Self.checkComment(comment.body) }
        if state != .approved && body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty && comments.isEmpty {
            throw ModelError.invalid(field: "body", reason: "a review that is not an approval needs a body or comments")
        }
        let id = try await client.withUnwrappedTransaction(logger: logger) { connection in
            var reviewID: Int64 = 0
            for try await id in try await connection.run("""
                INSERT INTO pull_reviews (pull_request_id, author_id, state, body, commit_sha) VALUES (\(pullRequestID), \(author.id), \(state.rawValue), \(body), \(commitSHA)) RETURNING id
                """, logger: logger).decode(Int64.self) { reviewID = id }
            for comment in comments {
                _ = try await connection.run("""
                    INSERT INTO pull_comments (pull_request_id, author_id, review_id, body, commit_sha, path, side, line)
                    VALUES (\(pullRequestID), \(author.id), \(reviewID), \(comment.body), \(comment.anchor.commitSHA), \(comment.anchor.path), \(comment.anchor.side), \(comment.anchor.line))
                    """, logger: logger)
            }
            return reviewID
        }
        guard let review = try await reviews(where: "r.id = $1", id).first else { throw ModelError.notFound("new review") }
        return review
    }

    /// A pull request's reviews, oldest first.
    public func reviews(pullRequestID: Int64) async throws -> [PullReview] {
        try await reviews(where: "r.pull_request_id = $1 ORDER BY r.id LIMIT 1000", pullRequestID)
    }

    private func reviews(where condition: String, _ id: Int64) async throws -> [PullReview] {
        let rows = try await client.run(PostgresQuery(unsafeSQL: """
            SELECT r.id, r.pull_request_id, r.author_id, u.username, r.state, r.body, r.commit_sha, r.submitted_at
            FROM pull_reviews r JOIN users u ON u.id = r.author_id WHERE
            """ + " " + condition, binds: try Self.binds(id)), logger: logger)
        var result: [PullReview] = []
        for try await r in rows.decode((Int64, Int64, Int64, String, String, String, String, Date).self) {
            result.append(PullReview(id: r.0, pullRequestID: r.1, authorID: r.2, authorName: r.3, state: PullReview.State(rawValue: r.4) ?? .commented, body: r.5, commitSHA: r.6, submittedAt: r.7))
        }
        return result
    }

    private func collect(_ rows: PostgresRowSequence) async throws -> [PullRequest] {
        var result: [PullRequest] = []
        for try await row in rows { result.append(try Self.decode(row)) }
        return result
    }

    /// A pull request as `select` reads it.
    static func decode(_ row: PostgresRow) throws -> PullRequest {
        let cells = row.makeRandomAccess()
        func cell<T: PostgresDecodable>(_ index: Int, _ type: T.Type = T.self) throws -> T { try cells[index].decode(T.self) }
        return PullRequest(
            id: try cell(0), repositoryID: try cell(1), number: try cell(2), authorID: try cell(3), authorName: try cell(4), title: try cell(5), body: try cell(6),
            headRepositoryID: try cell(7), headRepositoryName: try cell(8), headRef: try cell(9), baseRef: try cell(10),
            state: PullRequest.State(rawValue: try cell(11)) ?? .closed, headSHA: try cell(12), baseSHA: try cell(13), mergeable: try cell(14),
            conflicts: try cell(15), mergeTestSHA: try cell(16), commitCount: try cell(17), mergedAt: try cell(18), mergedByID: try cell(24), mergedByName: try cell(19),
            mergeCommitSHA: try cell(20), createdAt: try cell(21), updatedAt: try cell(22), closedAt: try cell(23))
    }

    static func binds(_ values: any PostgresEncodable & Sendable...) throws -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { try bindings.append(value) }
        return bindings
    }
}
