import CairnDatabase
import CairnProtocol
import Crypto
public import Foundation
public import Logging
public import PostgresNIO

/// One kind of unhandled error, as the admin error pages show it.
public struct ErrorReport: Sendable, Equatable {
    public let id: Int64
    public let fingerprint: String
    /// The error's Swift type.
    public let type: String
    /// Where it happened: the route (`GET /:owner/:repo/downloads`).
    public let site: String
    public let message: String
    /// Everything the error says of itself (`String(reflecting:)`).
    public let details: String
    public let count: Int64
    public let firstSeen: Date
    public let lastSeen: Date
    /// The last request's method and path.
    public let lastRequest: String
    public let lastUserID: Int64?
    public let lastRequestID: String
}

/// The error reports in PostgreSQL (`error_reports`): every unhandled error is counted
/// under a fingerprint of its type and site, keeping the first and last time it was seen
/// and the last request it broke.
public struct ErrorReportStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The fingerprint of an error type at a site.
    public static func fingerprint(type: String, site: String) -> String {
        String(SHA256.hash(data: Data("\(type)|\(site)".utf8)).hexString.prefix(16))
    }

    /// Counts one occurrence; returns the report's id.
    @discardableResult
    public func record(type: String, site: String, message: String, details: String, request: String, userID: Int64?, requestID: String) async throws -> Int64 {
        let fingerprint = Self.fingerprint(type: type, site: site)
        let rows = try await client.run(
            """
            INSERT INTO error_reports (fingerprint, error_type, site, message, details, last_request, last_user_id, last_request_id)
            VALUES (\(fingerprint), \(type), \(site), \(String(message.prefix(2000))), \(String(details.prefix(20000))), \(String(request.prefix(600))), \(userID), \(requestID))
            ON CONFLICT (fingerprint) DO UPDATE SET
                count = error_reports.count + 1, last_seen = now(), message = EXCLUDED.message, details = EXCLUDED.details,
                last_request = EXCLUDED.last_request, last_user_id = EXCLUDED.last_user_id, last_request_id = EXCLUDED.last_request_id
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        return 0
    }

    /// The most recently seen reports.
    public func recent(limit: Int = 100) async throws -> [ErrorReport] {
        try await decode(client.run("\(unescaped: Self.columns) ORDER BY last_seen DESC LIMIT \(limit)", logger: logger))
    }

    public func find(id: Int64) async throws -> ErrorReport? {
        try await decode(client.run("\(unescaped: Self.columns) WHERE id = \(id)", logger: logger)).first
    }

    private static let columns = """
        SELECT id, fingerprint, error_type, site, message, details, count, first_seen, last_seen, last_request, last_user_id, last_request_id FROM error_reports
        """

    private func decode(_ rows: PostgresRowSequence) async throws -> [ErrorReport] {
        var reports: [ErrorReport] = []
        for try await row in rows {
            let (id, fingerprint, type, site, message, details, count, first, last, request, user, requestID) =
                try row.decode((Int64, String, String, String, String, String, Int64, Date, Date, String, Int64?, String).self)
            reports.append(ErrorReport(
                id: id, fingerprint: fingerprint, type: type, site: site, message: message, details: details, count: count,
                firstSeen: first, lastSeen: last, lastRequest: request, lastUserID: user, lastRequestID: requestID))
        }
        return reports
    }
}
