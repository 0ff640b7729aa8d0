import CairnDatabase
import CairnProtocol
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

    /// The columns a `User` is read from, in the order `user(_:)` reads them.
    private static let columnNames = ["id", "username", "email", "is_admin", "session_version", "created_at", "cache_version"]

    /// The columns a `User` is read from, of the table aliased `table` (if any).
    static func columns(_ table: String = "") -> String {
        let prefix = table.isEmpty ? "" : "\(table)."
        return columnNames.map { prefix + $0 }.joined(separator: ", ")
    }

    /// How many columns `columns` names: what a query selects after them starts here.
    static let columnCount = columnNames.count

    /// The `User` in the first `columnCount` columns of `row` (a query selecting `columns`
    /// first), whatever follows them.
    static func user(_ row: PostgresRandomAccessRow) throws -> User {
        User(
            id: try row[0].decode(Int64.self), username: try row[1].decode(String.self), email: try row[2].decode(String.self),
            isAdmin: try row[3].decode(Bool.self), sessionVersion: try row[4].decode(Int.self), createdAt: try row[5].decode(Date.self),
            cacheVersion: try row[6].decode(Int64.self))
    }

    /// Creates a user after checking the name, email and password rules.
    public func create(username: String, email: String, password: String, isAdmin: Bool = false) async throws -> User {
        if let problem = Names.problem(with: username, kind: "username") { throw ModelError.invalid(field: "username", reason: problem) }
        try Self.checkEmail(email)
        if let problem = Passwords.problem(with: password) { throw ModelError.invalid(field: "password", reason: problem) }
        let hash = try await Passwords.hash(password)
        do {
            let rows = try await client.run("""
                INSERT INTO users (username, email, password_hash, is_admin) VALUES (\(username), \(email), \(hash), \(isAdmin))
                RETURNING \(unescaped: Self.columns())
                """, logger: logger)
            if let user = try await first(rows) { return user }
            throw ModelError.notFound("new user")
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            let field = (error.serverInfo?[.constraintName] ?? "").contains("email") ? "email" : "username"
            throw ModelError.taken(field: field, value: field == "email" ? email : username)
        }
    }

    public func find(username: String) async throws -> User? {
        try await first(client.run("SELECT \(unescaped: Self.columns()) FROM users WHERE lower(username) = lower(\(username))", logger: logger))
    }

    public func find(id: Int64) async throws -> User? {
        for try await user in try await client.run(FindByID(id: id), logger: logger) { return user }
        return nil
    }

    /// The user of a session, unless that session was signed out (`retireSession`).
    public func find(id: Int64, session nonce: String) async throws -> User? {
        for try await user in try await client.run(FindBySession(id: id, nonce: nonce), logger: logger) { return user }
        return nil
    }

    /// Signs out one session on the server: its cookie no longer works, even if it was copied.
    /// Retired sessions older than a session's lifetime are cleared on the way.
    public func retireSession(userID: Int64, nonce: String) async throws {
        _ = try await client.run("""
            WITH cleared AS (DELETE FROM retired_sessions WHERE user_id = \(userID) AND retired_at < now() - interval '31 days')
            INSERT INTO retired_sessions (nonce, user_id) VALUES (\(nonce), \(userID)) ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// `find(id:session:)`, prepared: every signed-in page view runs it to load its user.
    struct FindBySession: PostgresPreparedStatement {
        static let sql = "SELECT \(UserStore.columns()) FROM users WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM retired_sessions WHERE nonce = $2)"
        let id: Int64
        let nonce: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(id)
            bindings.append(nonce)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> User { try UserStore.user(row.makeRandomAccess()) }
    }

    /// `find(id:)`, prepared: every signed-in request runs it to load its user.
    struct FindByID: PostgresPreparedStatement {
        static let sql = "SELECT \(UserStore.columns()) FROM users WHERE id = $1"
        let id: Int64

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(id)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> User { try UserStore.user(row.makeRandomAccess()) }
    }

    /// The users with these ids, by username.
    public func find(ids: [Int64]) async throws -> [User] {
        guard !ids.isEmpty else { return [] }
        var found: [User] = []
        let rows = try await client.run(
            "SELECT \(unescaped: Self.columns()) FROM users WHERE id = ANY(\(ids)) ORDER BY lower(username)", logger: logger)
        for try await row in rows { found.append(try Self.user(row.makeRandomAccess())) }
        return found
    }

    /// The user whose name (or email) and password match, or nil; the same nil for both mistakes.
    public func authenticate(login: String, password: String) async throws -> User? {
        let rows = try await client.run("""
            SELECT \(unescaped: Self.columns()), password_hash FROM users
            WHERE lower(username) = lower(\(login)) OR lower(email) = lower(\(login)) LIMIT 1
            """, logger: logger)
        for try await row in rows {
            let cells = row.makeRandomAccess()
            guard try await Passwords.verify(password, hash: try cells[Self.columnCount].decode(String.self)) else { return nil }
            return try Self.user(cells)
        }
        try await Passwords.verifyNothing(password)
        return nil
    }

    /// Retires the cached fragments of a user's pages (a repository's changes do it
    /// themselves, through a trigger).
    public func bumpCacheVersion(_ userID: Int64) async throws {
        _ = try await client.run("UPDATE users SET cache_version = cache_version + 1 WHERE id = \(userID)", logger: logger)
    }

    /// Retires the cached fragments of every user's pages; how many users there are.
    public func bumpAllCacheVersions() async throws -> Int {
        try await client.run("UPDATE users SET cache_version = cache_version + 1 RETURNING 1", logger: logger).count()
    }

    /// The kinds of mail (`MailKind` raw values) the user switched off.
    public func mailOptOuts(userID: Int64) async throws -> Set<String> {
        for try await kinds in try await client.run("SELECT mail_opt_out FROM users WHERE id = \(userID)", logger: logger).decode([String].self) {
            return Set(kinds)
        }
        return []
    }

    /// Stops one kind of mail for the user; doing it twice changes nothing.
    public func optOut(userID: Int64, kind: String) async throws {
        _ = try await client.run("""
            UPDATE users SET mail_opt_out = array_append(mail_opt_out, \(kind)) WHERE id = \(userID) AND NOT (\(kind) = ANY(mail_opt_out))
            """, logger: logger)
    }

    /// Changes the email address after checking it.
    public func changeEmail(userID: Int64, to email: String) async throws {
        try Self.checkEmail(email)
        do {
            _ = try await client.run("UPDATE users SET email = \(email), updated_at = now() WHERE id = \(userID)", logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw ModelError.taken(field: "email", value: email)
        }
    }

    /// Changes the password when `old` is the current one, and signs the user out everywhere
    /// (every session made before carries the old session version).
    /// Throws unless `password` is the user's current password: whoever holds a signed-in
    /// browser for a moment must not be able to take the account over.
    public func requirePassword(userID: Int64, _ password: String, field: String = "password") async throws {
        let rows = try await client.run("SELECT password_hash FROM users WHERE id = \(userID)", logger: logger)
        var current: String?
        for try await hash in rows.decode(String.self) { current = hash }
        guard let current, try await Passwords.verify(password, hash: current) else {
            throw ModelError.invalid(field: field, reason: "is not your current password")
        }
    }

    public func changePassword(userID: Int64, old: String, new: String) async throws {
        try await requirePassword(userID: userID, old, field: "old_password")
        if let problem = Passwords.problem(with: new) { throw ModelError.invalid(field: "password", reason: problem) }
        let hash = try await Passwords.hash(new)
        _ = try await client.run("""
            UPDATE users SET password_hash = \(hash), session_version = session_version + 1, updated_at = now() WHERE id = \(userID)
            """, logger: logger)
    }

    /// Ends every session of the user, this one included.
    public func signOutEverywhere(userID: Int64) async throws {
        _ = try await client.run("UPDATE users SET session_version = session_version + 1 WHERE id = \(userID)", logger: logger)
    }

    static func checkEmail(_ email: String) throws {
        guard email.contains("@"), email.count <= 254, !email.contains(where: \.isWhitespace) else {
            throw ModelError.invalid(field: "email", reason: "must be an email address")
        }
    }

    func first(_ rows: PostgresRowSequence) async throws -> User? {
        for try await row in rows { return try Self.user(row.makeRandomAccess()) }
        return nil
    }
}
