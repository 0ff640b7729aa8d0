import CairnDatabase
public import Foundation
public import Logging
public import PostgresNIO

/// An operator's note on the public status page.
public struct Incident: Sendable, Equatable {
    public enum Level: String, Sendable, CaseIterable {
        case minor, major
    }

    public let id: Int64
    public let message: String
    public let level: Level
    public let createdAt: Date
    public let resolvedAt: Date?
}

/// The incidents (`incidents`): posted and resolved with `cairnctl incident`, shown on
/// `/status` while open and for a week after.
public struct IncidentStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Posts a note; its id.
    public func post(_ message: String, level: Incident.Level) async throws -> Int64 {
        let text = message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.count <= 2000 else { throw ModelError.invalid(field: "message", reason: "must be 1 to 2000 characters") }
        for try await id in try await client.run("INSERT INTO incidents (message, level) VALUES (\(text), \(level.rawValue)) RETURNING id", logger: logger).decode(Int64.self) {
            return id
        }
        throw ModelError.notFound("new incident")
    }

    /// Marks an incident resolved; whether it was open.
    public func resolve(id: Int64) async throws -> Bool {
        try await client.run("UPDATE incidents SET resolved_at = now() WHERE id = \(id) AND resolved_at IS NULL RETURNING 1", logger: logger).count() > 0
    }

    /// Open incidents and those resolved in the last `days` days, newest first.
    public func recent(days: Int = 7) async throws -> [Incident] {
        let rows = try await client.run(
            """
            SELECT id, message, level, created_at, resolved_at FROM incidents
            WHERE resolved_at IS NULL OR resolved_at > now() - \(days) * interval '1 day'
            ORDER BY created_at DESC LIMIT 50
            """, logger: logger)
        var found: [Incident] = []
        for try await (id, message, level, created, resolved) in rows.decode((Int64, String, String, Date, Date?).self) {
            found.append(Incident(id: id, message: message, level: Incident.Level(rawValue: level) ?? .minor, createdAt: created, resolvedAt: resolved))
        }
        return found
    }
}
