public import Logging
public import PostgresNIO

extension PostgresClient {
    /// `withTransaction`, but an error thrown by `body` comes out as itself rather than
    /// wrapped in `PostgresTransactionError`, so callers can catch their own error types.
    public func withUnwrappedTransaction<Result>(
        logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await withTransaction(logger: logger, isolation: isolation, body)
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError, error.rollbackError == nil { throw closureError }
            throw error
        }
    }
}

extension PostgresRowSequence {
    /// How many rows came back: with `RETURNING 1`, how many rows a statement changed.
    public func count() async throws -> Int {
        var count = 0
        for try await _ in self { count += 1 }
        return count
    }
}
