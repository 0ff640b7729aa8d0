public import CairnDatabase
public import Foundation
public import Logging
public import PostgresNIO

/// One report of a CI service about a commit, in one `context` ("ci/build", say).
public struct CommitStatus: Sendable, Hashable {
    public enum State: String, Sendable, CaseIterable, Codable {
        case pending, success, failure, error
    }

    public let id: Int64
    public let repositoryID: Int64
    public let sha: String
    public let state: State
    public let context: String
    public let description: String?
    public let targetURL: String?
    public let creatorID: Int64?
    public let createdAt: Date

    /// GitHub's combined state of the newest status of each context: `failure` when any is
    /// a failure or an error, else `pending` when any is pending or there are none, else `success`.
    public static func combined(_ latest: [CommitStatus]) -> State {
        if latest.contains(where: { $0.state == .failure || $0.state == .error }) { return .failure }
        if latest.isEmpty || latest.contains(where: { $0.state == .pending }) { return .pending }
        return .success
    }
}

/// What a caller reports; checked by `problem` before it is stored.
public struct CommitStatusReport: Sendable {
    public var state: String
    public var context: String
    public var description: String?
    public var targetURL: String?

    public init(state: String, context: String?, description: String?, targetURL: String?) {
        self.state = state
        self.context = context ?? "default"
        self.description = description
        self.targetURL = targetURL
    }

    /// Why the report cannot be stored, in GitHub's words where it has them; nil when it can.
    public var problem: String? {
        guard CommitStatus.State(rawValue: state) != nil else {
            return "state: \"\(state.prefix(40))\" is not one of pending, success, failure, error"
        }
        // Lengths as PostgreSQL's length() counts them (code points), which the table checks.
        guard (1...255).contains(context.unicodeScalars.count) else { return "context: must be 1 to 255 characters" }
        if let description, description.unicodeScalars.count > 140 { return "description: is too long (maximum is 140 characters)" }
        if let targetURL, !targetURL.isEmpty {
            guard targetURL.unicodeScalars.count <= 2048 else { return "target_url: is too long (maximum is 2048 characters)" }
            guard let url = URL(string: targetURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
                return "target_url: must be an http or https URL"
            }
        }
        for (field, text) in [("context", context), ("description", description ?? ""), ("target_url", targetURL ?? "")] where text.contains("\0") {
            return "\(field): must not contain NUL"
        }
        return nil
    }
}

/// Commit statuses in the main database.
public struct CommitStatusStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    /// How many of a repository's newest statuses `passing` reads.
    public static let passingWindow = 5000

    /// GitHub's limit: past this many statuses on one commit, more are refused.
    public static let maxPerCommit = 1000

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    private static let columns = "id, repository_id, sha, state, context, description, target_url, creator_id, created_at"

    /// Stores `report` (checked with `problem`) on `sha` and bumps the repository's status
    /// version, in one transaction; nil when the commit already has `maxPerCommit` statuses.
    public func create(repositoryID: Int64, sha: String, report: CommitStatusReport, creatorID: Int64?) async throws -> CommitStatus? {
        let state = report.state, context = report.context
        let description = report.description?.nilIfEmpty, target = report.targetURL?.nilIfEmpty
        return try await client.withUnwrappedTransaction(logger: logger) { connection in
            // One writer per commit at a time, so the count cannot be passed by racing reports.
            try await connection.run("SELECT pg_advisory_xact_lock(hashtextextended(\(sha), \(repositoryID)))", logger: logger).collect()
            let count = try await connection.run(
                "SELECT count(*)::int8 FROM commit_statuses WHERE repository_id = \(repositoryID) AND sha = \(sha)", logger: logger
            ).collect().first?.decode(Int64.self) ?? 0
            guard count < Self.maxPerCommit else { return nil }
            let rows = try await connection.run("""
                INSERT INTO commit_statuses (repository_id, sha, state, context, description, target_url, creator_id)
                VALUES (\(repositoryID), \(sha), \(state), \(context), \(description), \(target), \(creatorID))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger).collect()
            try await connection.run("UPDATE repositories SET status_version = status_version + 1 WHERE id = \(repositoryID)", logger: logger).collect()
            return try rows.first.map(Self.decode)
        }
    }

    /// The statuses of `sha`, newest first.
    public func list(repositoryID: Int64, sha: String, limit: Int = 30, offset: Int = 0) async throws -> [CommitStatus] {
        try await Self.collect(client.run("""
            SELECT \(unescaped: Self.columns) FROM commit_statuses WHERE repository_id = \(repositoryID) AND sha = \(sha)
            ORDER BY id DESC LIMIT \(limit) OFFSET \(offset)
            """, logger: logger))
    }

    /// The newest status of each context, for each of `shas` (one query however many).
    public func latest(repositoryID: Int64, shas: [String]) async throws -> [String: [CommitStatus]] {
        guard !shas.isEmpty else { return [:] }
        let statuses = try await Self.collect(client.run("""
            SELECT DISTINCT ON (sha, context) \(unescaped: Self.columns) FROM commit_statuses
            WHERE repository_id = \(repositoryID) AND sha = ANY(\(Array(Set(shas))))
            ORDER BY sha, context, id DESC
            """, logger: logger))
        return Dictionary(grouping: statuses, by: \.sha)
    }

    /// The commits of the repository whose newest status in each of `contexts` is success,
    /// newest first: those a branch requiring these checks may be pushed to directly.
    public func passing(repositoryID: Int64, contexts: [String], limit: Int = 100) async throws -> [String] {
        guard !contexts.isEmpty else { return [] }
        let rows = try await client.run("""
            SELECT sha FROM (
                SELECT DISTINCT ON (sha, context) sha, context, state, id FROM (
                    -- The newest reports only: a push asks this, and old commits are not what it pushes.
                    SELECT sha, context, state, id FROM commit_statuses
                    WHERE repository_id = \(repositoryID) ORDER BY id DESC LIMIT \(Self.passingWindow)
                ) recent
                WHERE context = ANY(\(contexts))
                ORDER BY sha, context, id DESC
            ) newest
            GROUP BY sha HAVING count(*) FILTER (WHERE state = 'success') = \(Set(contexts).count)
            ORDER BY max(id) DESC LIMIT \(limit)
            """, logger: logger)
        var shas: [String] = []
        for try await sha in rows.decode(String.self) { shas.append(sha) }
        return shas
    }

    private static func collect(_ rows: PostgresRowSequence) async throws -> [CommitStatus] {
        var result: [CommitStatus] = []
        for try await row in rows { result.append(try decode(row)) }
        return result
    }

    private static func decode(_ row: PostgresRow) throws -> CommitStatus {
        let r = try row.decode((Int64, Int64, String, String, String, String?, String?, Int64?, Date).self)
        return CommitStatus(
            id: r.0, repositoryID: r.1, sha: r.2, state: CommitStatus.State(rawValue: r.3) ?? .error, context: r.4, description: r.5,
            targetURL: r.6, creatorID: r.7, createdAt: r.8)
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
