public import CairnProtocol
import CairnDatabase
import CairnRedis
import PostgresNIO

/// Which store an error says is not answering, if it says one is: the errors that are an
/// outage (answered 503, "try again shortly") rather than a bug (500, reported).
public enum StoreOutage {
    /// The store's name for `error` when it means that store is down or unreachable; nil
    /// for any other error.
    public static func store(of error: any Error) -> String? {
        switch error {
        case let redis as RedisError:
            if case .command = redis { return nil }
            return "Redis"
        case let postgres as PSQLError:
            let outages: [PSQLError.Code] = [.connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed]
            if outages.contains(postgres.code) { return "PostgreSQL" }
            // Shutting down or starting up ("the database system is starting up", 57P03, or
            // "terminating connection due to administrator command", 57P01).
            if let state = postgres.serverInfo?[.sqlState], state.hasPrefix("57P") || state.hasPrefix("08") { return "PostgreSQL" }
            return nil
        case is QueryDeadlineExceeded:
            return "PostgreSQL"
        case let call as InternalCallError:
            // The peer's address stays in the log: visitors need not learn the layout.
            guard case .unreachable = call else { return nil }
            return "A Cairn service"
        default:
            // PostgresNIO's pool error type is not public: "no connection could be made".
            return String(reflecting: type(of: error)).contains("ConnectionPoolError") ? "PostgreSQL" : nil
        }
    }
}
