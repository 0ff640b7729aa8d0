public import Foundation
public import PostgresNIO

/// How to reach one PostgreSQL database.
public struct DatabaseConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// Connections the pool keeps at most.
    public var poolSize: Int
    /// Sets `search_path` on every connection: tests give each case a schema of its own.
    public var searchPath: String?

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String, poolSize: Int = 10, searchPath: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.poolSize = poolSize
        self.searchPath = searchPath
    }

    /// Reads `postgres://user[:password]@host[:port]/database[?search_path=schema]`; nil
    /// when it is not one.
    public init?(url: String, poolSize: Int = 10) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme),
              let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
        else { return nil }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !database.isEmpty, !database.contains("/") else { return nil }
        let searchPath = components.queryItems?.first { $0.name == "search_path" }?.value
        self.init(host: host, port: components.port ?? 5432, username: user, password: components.password, database: database, poolSize: poolSize, searchPath: searchPath)
    }

    /// The postgres-nio client configuration (no TLS on loopback; the operator's proxy or
    /// network carries TLS in production).
    public var client: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        if let searchPath { configuration.options.additionalStartupParameters = [("search_path", searchPath)] }
        return configuration
    }

    /// The configuration of a connection of its own (one that listens for notifications),
    /// with the pool's settings, named `applicationName` in `pg_stat_activity`.
    public func connection(applicationName: String) -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        if let searchPath { configuration.options.additionalStartupParameters.append(("search_path", searchPath)) }
        return configuration
    }

    /// Where this points, without the password, for logs and errors.
    public var redactedDescription: String { "postgres://\(username)@\(host):\(port)/\(database)" }
}
