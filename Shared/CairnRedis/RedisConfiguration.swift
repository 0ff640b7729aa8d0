public import Foundation

/// Where Redis is and how many connections to keep.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The logical database (`SELECT`), 0 by default.
    public var database: Int
    public var password: String?
    /// Connections (and pool threads) at most; blocking takes each hold one while they wait.
    public var poolSize: Int
    /// Connect and read time-out for ordinary commands.
    public var timeout: Duration

    public init(host: String = "127.0.0.1", port: Int = 6379, database: Int = 0, password: String? = nil, poolSize: Int = 16, timeout: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.database = database
        self.password = password
        self.poolSize = poolSize
        self.timeout = timeout
    }

    /// Reads `redis://[:password@]host[:port][/database]`; nil when it is not such a URL.
    public init?(url: String, poolSize: Int = 16) {
        guard let components = URLComponents(string: url), components.scheme == "redis", let host = components.host, !host.isEmpty else { return nil }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard path.isEmpty || Int(path) != nil else { return nil }
        self.init(host: host, port: components.port ?? 6379, database: Int(path) ?? 0, password: components.password, poolSize: poolSize)
    }
}
