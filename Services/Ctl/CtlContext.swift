import CairnDatabase
import CairnProtocol
import CairnService
import CairnSigning
import Foundation
import Logging
import PostgresNIO

/// What a command works with: the loaded configuration and a logger on standard error.
struct CtlContext {
    let configuration: CairnConfiguration
    let logger: Logger

    init(_ options: GlobalOptions) throws {
        configuration = try CairnConfiguration.load(file: options.config, environment: ProcessInfo.processInfo.environment)
        var logger = Logger(label: "cairnctl")
        logger.logLevel = .error
        self.logger = logger
    }
}

extension CtlContext {
    /// A client for signed requests to `daemon`.
    func internalClient(_ daemon: Daemon) throws -> InternalClient {
        InternalClient(
            daemon, baseURL: configuration.listener(daemon).url,
            signature: InternalSignature(signer: try Signer(key: configuration.signingKey, fallbackKeys: configuration.signingFallbackKeys)))
    }
}

/// Runs `body` with a started PostgreSQL client, shutting it down afterwards.
func withPostgres<T: Sendable>(_ configuration: DatabaseConfiguration, logger: Logger, _ body: @Sendable @escaping (PostgresClient) async throws -> T) async throws -> T {
    let client = PostgresClient(configuration: configuration.client, backgroundLogger: logger)
    do {
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await client.run(); return nil }
            defer { group.cancelAll() }
            return try await body(client)
        }
    } catch let error as PSQLError {
        throw CtlError("PostgreSQL at \(configuration.redactedDescription) refused: \(error.serverInfo?[.message] ?? String(describing: error.code))")
    } catch where String(describing: error).hasPrefix("ConnectionPoolError") {
        // The pool's own error type is not public; it means no connection could be made.
        throw CtlError("cannot reach PostgreSQL at \(configuration.redactedDescription): \(error)")
    }
}

/// A failure explained for the operator.
struct CtlError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
