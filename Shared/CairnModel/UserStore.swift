public import CairnProtocol
import Foundation
public import Logging
public import PostgresNIO

/// Users in the main database.
public struct UserStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = "id, username, email, is_admin, session_version, created_at"

    /// Creates a user after checking the name, email and password rules.
    public func create(username: String, email: String, password: String, isAdmin: Bool = false) async throws -> User {
        if let problem = Names.problem(with: username, kind: "username") { throw ModelError.invalid(field: "username", reason: problem) }
        guard email.contains("@"), email.count <= 254, !email.contains(where: \.isWhitespace) else {
            throw ModelError.invalid(field: "email", reason: "must be an email address")
        }
        if let problem = Passwords.problem(with: password) { throw ModelError.invalid(field: "password", reason: problem) }
        let hash = try await Passwords.hash(password)
        do {
            let rows = try await client.query("""
                INSERT INTO users (username, email, password_hash, is_admin) VALUES (\(username), \(email), \(hash), \(isAdmin))
                RETURNING id, username, email, is_admin, session_version, created_at
                """, logger: logger)
            for try await row in rows.decode((Int64, String, String, Bool, Int, Date).self) { return User(row) }
            throw ModelError.notFound("new user")
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            let field = (error.serverInfo?[.constraintName] ?? "").contains("email") ? "email" : "username"
            throw ModelError.taken(field: field, value: field == "email" ? email : username)
        }
    }

    public func find(username: String) async throws -> User? {
        try await first(client.query("SELECT id, username, email, is_admin, session_version, created_at FROM users WHERE lower(username) = lower(\(username))", logger: logger))
    }

    public func find(id: Int64) async throws -> User? {
        try await first(client.query("SELECT id, username, email, is_admin, session_version, created_at FROM users WHERE id = \(id)", logger: logger))
    }

    /// The user whose name (or email) and password match, or nil; the same nil for both mistakes.
    public func authenticate(login: String, password: String) async throws -> User? {
        let rows = try await client.query("""
            SELECT id, username, email, is_admin, session_version, created_at, password_hash FROM users
            WHERE lower(username) = lower(\(login)) OR lower(email) = lower(\(login)) LIMIT 1
            """, logger: logger)
        for try await row in rows.decode((Int64, String, String, Bool, Int, Date, String).self) {
            guard try await Passwords.verify(password, hash: row.6) else { return nil }
            return User((row.0, row.1, row.2, row.3, row.4, row.5))
        }
        return nil
    }

    func first(_ rows: PostgresRowSequence) async throws -> User? {
        for try await row in rows.decode((Int64, String, String, Bool, Int, Date).self) { return User(row) }
        return nil
    }
}

extension User {
    init(_ row: (Int64, String, String, Bool, Int, Date)) {
        self.init(id: row.0, username: row.1, email: row.2, isAdmin: row.3, sessionVersion: row.4, createdAt: row.5)
    }
}
