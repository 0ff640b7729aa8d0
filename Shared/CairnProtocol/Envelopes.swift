public import Foundation

/// A unit of background work, as it travels through the Redis queues:
/// `{v, id, kind, args, attempt, enqueued_at}`. Unknown fields are ignored on decoding.
public struct TaskEnvelope: Sendable, Codable, Hashable {
    /// The envelope format this build writes.
    public static let currentVersion = 1

    public var v: Int
    /// Unique per task; consumers are idempotent by it.
    public var id: String
    /// What to do, e.g. `push`, `repo.delete`, `webhook.deliver`.
    public var kind: String
    public var args: JSONValue
    /// How many times this task has been tried before (0 on first delivery).
    public var attempt: Int
    public var enqueuedAt: Date

    public init(kind: String, args: JSONValue = .object([:]), id: String = UUID().uuidString.lowercased(), attempt: Int = 0, enqueuedAt: Date = Date()) {
        self.v = Self.currentVersion
        self.id = id
        self.kind = kind
        self.args = args
        self.attempt = attempt
        self.enqueuedAt = enqueuedAt
    }

    enum CodingKeys: String, CodingKey {
        case v, id, kind, args, attempt
        case enqueuedAt = "enqueued_at"
    }
}

/// Something that happened, for the analytics stream:
/// `{v, id, type, at, repo_id?, actor?, visitor?, data}`.
public struct EventEnvelope: Sendable, Codable, Hashable {
    public static let currentVersion = 1

    public var v: Int
    public var id: String
    /// e.g. `repo.view`, `repo.clone`, `repo.push`, `repo.download`.
    public var type: String
    public var at: Date
    public var repoID: Int64?
    public var actor: Int64?
    /// A keyed hash identifying a visitor for the day, never a raw address.
    public var visitor: String?
    public var data: JSONValue

    public init(type: String, repoID: Int64? = nil, actor: Int64? = nil, visitor: String? = nil, data: JSONValue = .object([:]), id: String = UUID().uuidString.lowercased(), at: Date = Date()) {
        self.v = Self.currentVersion
        self.id = id
        self.type = type
        self.at = at
        self.repoID = repoID
        self.actor = actor
        self.visitor = visitor
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case v, id, type, at, actor, visitor, data
        case repoID = "repo_id"
    }
}

/// The one JSON dialect of Cairn's envelopes and internal API: ISO-8601 dates, sorted keys.
public enum CairnJSON {
    /// A new encoder with Cairn's settings.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatDate(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A new decoder with Cairn's settings.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO-8601 date: \(text)"))
            }
            return date
        }
        return decoder
    }

    /// Encodes `value` to UTF-8 JSON bytes.
    public static func encode(_ value: some Encodable) throws -> Data {
        try encoder().encode(value)
    }

    /// Decodes a `T` from JSON bytes.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder().decode(type, from: data)
    }

    /// `2026-11-22T21:13:39.123Z`: millisecond precision, always UTC.
    public static func formatDate(_ date: Date) -> String {
        ISO8601.format(date)
    }

    /// Reads ISO-8601 with or without fractional seconds.
    public static func parseDate(_ text: String) -> Date? {
        ISO8601.parse(text)
            ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }
}
