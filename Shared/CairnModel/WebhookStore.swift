public import CairnDatabase
import Crypto
public import CairnProtocol
public import Foundation
public import Logging
public import PostgresNIO

/// Webhooks, their deliveries and every attempt of each, in the main database.
public struct WebhookStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Hooks per repository, as GitHub limits them.
    public static let maximumPerRepository = 20

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The settings a hook is created or edited with; nil fields keep their value on edit.
    public struct Settings: Sendable {
        public var url: String?
        public var secret: String?
        public var contentType: Webhook.ContentType?
        public var events: [String]?
        public var active: Bool?

        public init(url: String? = nil, secret: String? = nil, contentType: Webhook.ContentType? = nil, events: [String]? = nil, active: Bool? = nil) {
            self.url = url
            self.secret = secret
            self.contentType = contentType
            self.events = events
            self.active = active
        }

        func validated() throws -> Settings {
            var checked = self
            if let url {
                let trimmed = url.trimmingCharacters(in: .whitespaces)
                if let problem = Self.urlProblem(trimmed) { throw ModelError.invalid(field: "url", reason: problem) }
                checked.url = trimmed
            }
            if let secret, secret.utf8.count > 256 || secret.contains("\0") {
                throw ModelError.invalid(field: "secret", reason: "must be at most 256 bytes without NUL")
            }
            if let events {
                guard !events.isEmpty else { throw ModelError.invalid(field: "events", reason: "name at least one event (push)") }
                if let unknown = events.first(where: { !Webhook.knownEvents.contains($0) }) {
                    throw ModelError.invalid(field: "events", reason: "\"\(unknown)\" is not an event Cairn sends; known: \(Webhook.knownEvents.sorted().joined(separator: ", "))")
                }
                checked.events = Array(Set(events)).sorted()
            }
            return checked
        }

        /// Why `url` cannot be a hook's address, or nil. Where it may point is decided at
        /// delivery time by the worker's outbound guard, because names can change address.
        static func urlProblem(_ url: String) -> String? {
            guard !url.isEmpty, url.utf8.count <= 2000 else { return "must be 1 to 2000 characters" }
            guard !url.contains(where: { $0.isWhitespace || $0 == "\0" }) else { return "must not contain spaces or NUL" }
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                return "must be an http:// or https:// URL"
            }
            guard let host = components.host, !host.isEmpty else { return "must name a host" }
            guard components.user == nil, components.password == nil else { return "must not carry credentials; use the secret to authenticate deliveries" }
            return nil
        }
    }

    /// Adds a hook to a repository.
    public func create(repositoryID: Int64, _ settings: Settings) async throws -> Webhook {
        let checked = try settings.validated()
        guard let url = checked.url else { throw ModelError.invalid(field: "url", reason: "is required") }
        guard try await count(repositoryID: repositoryID) < Self.maximumPerRepository else {
            throw ModelError.invalid(field: "hooks", reason: "a repository may have at most \(Self.maximumPerRepository) hooks")
        }
        let rows = try await client.run("""
            INSERT INTO webhooks (repository_id, url, secret, content_type, events, active)
            VALUES (\(repositoryID), \(url), \(checked.secret ?? ""), \((checked.contentType ?? .json).rawValue), \(checked.events ?? ["push"]), \(checked.active ?? true))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let hook = try await Self.hooks(rows).first else { throw ModelError.notFound("new hook") }
        return hook
    }

    /// Changes what `settings` names; nil when the hook is not the repository's.
    public func update(_ id: Int64, repositoryID: Int64, _ settings: Settings) async throws -> Webhook? {
        let checked = try settings.validated()
        let rows = try await client.run("""
            UPDATE webhooks SET url = coalesce(\(checked.url), url), secret = coalesce(\(checked.secret), secret),
            content_type = coalesce(\(checked.contentType?.rawValue), content_type), events = coalesce(\(checked.events), events),
            active = coalesce(\(checked.active), active), updated_at = now()
            WHERE id = \(id) AND repository_id = \(repositoryID)
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        return try await Self.hooks(rows).first
    }

    /// Removes a hook and its deliveries; false when it was not the repository's.
    public func delete(_ id: Int64, repositoryID: Int64) async throws -> Bool {
        let rows = try await client.run("DELETE FROM webhooks WHERE id = \(id) AND repository_id = \(repositoryID) RETURNING id", logger: logger)
        for try await _ in rows.decode(Int64.self) { return true }
        return false
    }

    /// The repository's hook `id`, or nil.
    public func find(_ id: Int64, repositoryID: Int64) async throws -> Webhook? {
        try await Self.hooks(client.run("SELECT \(unescaped: Self.columns) FROM webhooks WHERE id = \(id) AND repository_id = \(repositoryID)", logger: logger)).first
    }

    /// A repository's hooks, oldest first.
    public func list(repositoryID: Int64) async throws -> [Webhook] {
        try await Self.hooks(client.run("SELECT \(unescaped: Self.columns) FROM webhooks WHERE repository_id = \(repositoryID) ORDER BY id", logger: logger))
    }

    /// The active hooks of a repository that take `event`.
    public func active(repositoryID: Int64, event: String) async throws -> [Webhook] {
        try await Self.hooks(client.run("""
            SELECT \(unescaped: Self.columns) FROM webhooks WHERE repository_id = \(repositoryID) AND active AND \(event) = ANY(events) ORDER BY id
            """, logger: logger))
    }

    private func count(repositoryID: Int64) async throws -> Int {
        for try await count in try await client.run("SELECT count(*)::int8 FROM webhooks WHERE repository_id = \(repositoryID)", logger: logger).decode(Int.self) {
            return count
        }
        return 0
    }

    // MARK: Deliveries

    /// Records a delivery and enqueues its `webhook.deliver` task in `transaction`, so the
    /// task exists exactly when the row does. A `guid` seen before makes nothing and returns nil:
    /// the task that made it ran twice.
    @discardableResult
    public func enqueueDelivery(hookID: Int64, guid: UUID, event: String, payload: String, redelivery: Bool = false, in transaction: OutboxTransaction) async throws -> Int64? {
        try await enqueueDeliveries([(hookID, guid)], event: event, payload: payload, redelivery: redelivery, in: transaction).first
    }

    /// `enqueueDelivery` for one payload to several hooks, in two statements whatever their number.
    /// Returns the ids of the deliveries made.
    @discardableResult
    public func enqueueDeliveries(_ targets: [(hookID: Int64, guid: UUID)], event: String, payload: String, redelivery: Bool = false, in transaction: OutboxTransaction) async throws -> [Int64] {
        guard !targets.isEmpty else { return [] }
        let rows = try await transaction.connection.run("""
            INSERT INTO webhook_deliveries (guid, hook_id, event, payload, redelivery)
            SELECT guid, hook_id, \(event), \(payload), \(redelivery) FROM unnest(\(targets.map(\.guid))::uuid[], \(targets.map(\.hookID))::int8[]) AS t (guid, hook_id)
            ON CONFLICT (guid) DO NOTHING RETURNING id, guid
            """, logger: logger)
        var created: [(Int64, UUID)] = []
        for try await row in rows.decode((Int64, UUID).self) { created.append(row) }
        let tasks = created.map { id, guid in
            TaskEnvelope(kind: "webhook.deliver", args: .object(["delivery_id": .number(Double(id))]), id: "delivery-\(guid.uuidString.lowercased())")
        }
        try await transaction.enqueue(tasks, queue: QueueName.webhooks.rawValue)
        return created.map(\.0)
    }

    /// A delivery that is not yet done, with its hook, in one query; nil when either is gone.
    public func pendingDelivery(_ id: Int64) async throws -> (WebhookDelivery, Webhook)? {
        let rows = try await client.run("""
            SELECT \(unescaped: Self.prefixed(Self.deliveryColumns, "d")), \(unescaped: Self.prefixed(Self.columns, "h"))
            FROM webhook_deliveries d JOIN webhooks h ON h.id = d.hook_id WHERE d.id = \(id) AND d.status <> 'ok'
            """, logger: logger)
        for try await row in rows {
            let columns = row.makeRandomAccess()
            guard let delivery = try Self.delivery(columns, offset: 0) else { return nil }
            let h = try (columns[16].decode(Int64.self), columns[17].decode(Int64.self), columns[18].decode(String.self), columns[19].decode(String.self),
                         columns[20].decode(String.self), columns[21].decode([String].self), columns[22].decode(Bool.self), columns[23].decode(Date.self), columns[24].decode(Date.self))
            return (delivery, Webhook(id: h.0, repositoryID: h.1, url: h.2, secret: h.3, contentType: .init(rawValue: h.4) ?? .json, events: h.5, active: h.6, createdAt: h.7, updatedAt: h.8))
        }
        return nil
    }

    static func prefixed(_ columns: String, _ table: String) -> String {
        columns.split(separator: ",").map { "\(table)." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")
    }

    /// A delivery id that is the same whenever it is derived from the same `parts` (the
    /// task id, hook and ref of a push), so that a task run twice makes one delivery.
    public static func deliveryGUID(_ parts: String...) -> UUID {
        var bytes = Array(SHA256.hash(data: Data(parts.joined(separator: "\u{1f}").utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x50  // version 5 layout (name-based), SHA-256 instead of SHA-1
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// The newest delivery of each of a repository's hooks.
    public func lastDeliveries(repositoryID: Int64) async throws -> [Int64: WebhookDelivery] {
        let list = try await Self.deliveries(client.run("""
            SELECT DISTINCT ON (d.hook_id) \(unescaped: Self.prefixed(Self.deliveryColumns, "d"))
            FROM webhooks h JOIN webhook_deliveries d ON d.hook_id = h.id
            WHERE h.repository_id = \(repositoryID) ORDER BY d.hook_id, d.id DESC
            """, logger: logger))
        return Dictionary(list.map { ($0.hookID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Delivery `id` (of hook `hookID` when given), or nil.
    public func delivery(_ id: Int64, hookID: Int64? = nil) async throws -> WebhookDelivery? {
        try await Self.deliveries(client.run("""
            SELECT \(unescaped: Self.deliveryColumns) FROM webhook_deliveries WHERE id = \(id) AND (\(hookID)::int8 IS NULL OR hook_id = \(hookID))
            """, logger: logger)).first
    }

    /// A hook's deliveries, newest first, older than `before` when given.
    public func deliveries(hookID: Int64, limit: Int = 30, before: Int64? = nil) async throws -> [WebhookDelivery] {
        try await Self.deliveries(client.run("""
            SELECT \(unescaped: Self.deliveryColumns) FROM webhook_deliveries
            WHERE hook_id = \(hookID) AND (\(before)::int8 IS NULL OR id < \(before)) ORDER BY id DESC LIMIT \(limit)
            """, logger: logger))
    }

    /// The tries of a delivery, first first.
    public func attempts(deliveryID: Int64) async throws -> [WebhookAttempt] {
        let rows = try await client.run("""
            SELECT attempt, started_at, duration_ms, status_code, response_headers, response_body, error
            FROM webhook_attempts WHERE delivery_id = \(deliveryID) ORDER BY attempt
            """, logger: logger)
        var result: [WebhookAttempt] = []
        for try await row in rows.decode((Int, Date, Int, Int?, String?, String?, String?).self) {
            result.append(WebhookAttempt(
                attempt: row.0, startedAt: row.1, durationMilliseconds: row.2, statusCode: row.3, requestHeaders: [:],
                responseHeaders: Self.headers(row.4), responseBody: row.5, error: row.6))
        }
        return result
    }

    /// Records one try and what the delivery now shows. Trying again after a success changes nothing.
    public func record(_ attempt: WebhookAttempt, deliveryID: Int64, final: Bool) async throws {
        let status: WebhookDelivery.Status = attempt.succeeded ? .ok : (final ? .failed : .pending)
        let requestHeaders = Self.encode(attempt.requestHeaders)
        let responseHeaders = Self.encode(attempt.responseHeaders)
        // One statement (so one round trip, and atomic): the attempt row, then the delivery's summary.
        _ = try await client.run("""
            WITH attempt AS (
                INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, response_headers, response_body, error)
                VALUES (\(deliveryID), \(attempt.attempt), \(attempt.startedAt), \(attempt.durationMilliseconds), \(attempt.statusCode), \(responseHeaders), \(attempt.responseBody), \(attempt.error))
                ON CONFLICT (delivery_id, attempt) DO UPDATE SET started_at = excluded.started_at, duration_ms = excluded.duration_ms,
                status_code = excluded.status_code, response_headers = excluded.response_headers, response_body = excluded.response_body, error = excluded.error
            )
            UPDATE webhook_deliveries SET status = \(status.rawValue), attempts = greatest(attempts, \(attempt.attempt)), status_code = \(attempt.statusCode),
            duration_ms = \(attempt.durationMilliseconds), delivered_at = \(attempt.startedAt), request_headers = \(requestHeaders),
            response_headers = \(responseHeaders), response_body = \(attempt.responseBody), error = \(attempt.error)
            WHERE id = \(deliveryID) AND status <> 'ok'
            """, logger: logger)
    }

    static let columns = "id, repository_id, url, secret, content_type, events, active, created_at, updated_at"
    static let deliveryColumns = """
        id, guid, hook_id, event, payload, redelivery, created_at, status, attempts, status_code, duration_ms, delivered_at,
        request_headers, response_headers, response_body, error
        """

    private static func hooks(_ rows: PostgresRowSequence) async throws -> [Webhook] {
        var result: [Webhook] = []
        for try await r in rows.decode((Int64, Int64, String, String, String, [String], Bool, Date, Date).self) {
            result.append(Webhook(id: r.0, repositoryID: r.1, url: r.2, secret: r.3, contentType: .init(rawValue: r.4) ?? .json, events: r.5, active: r.6, createdAt: r.7, updatedAt: r.8))
        }
        return result
    }

    private static func deliveries(_ rows: PostgresRowSequence) async throws -> [WebhookDelivery] {
        var result: [WebhookDelivery] = []
        for try await row in rows {
            if let delivery = try delivery(row.makeRandomAccess(), offset: 0) { result.append(delivery) }
        }
        return result
    }

    /// The delivery in `deliveryColumns` order, starting at column `offset`.
    private static func delivery(_ row: PostgresRandomAccessRow, offset o: Int) throws -> WebhookDelivery? {
        WebhookDelivery(
            id: try row[o].decode(Int64.self), guid: try row[o + 1].decode(UUID.self), hookID: try row[o + 2].decode(Int64.self),
            event: try row[o + 3].decode(String.self), payload: try row[o + 4].decode(String.self), redelivery: try row[o + 5].decode(Bool.self),
            createdAt: try row[o + 6].decode(Date.self), status: .init(rawValue: try row[o + 7].decode(String.self)) ?? .pending,
            attempts: try row[o + 8].decode(Int.self), statusCode: try row[o + 9].decode(Int?.self), durationMilliseconds: try row[o + 10].decode(Int?.self),
            deliveredAt: try row[o + 11].decode(Date?.self), requestHeaders: headers(try row[o + 12].decode(String?.self)),
            responseHeaders: headers(try row[o + 13].decode(String?.self)), responseBody: try row[o + 14].decode(String?.self), error: try row[o + 15].decode(String?.self))
    }

    private static func encode(_ headers: [String: String]) -> String {
        (try? String(decoding: CairnJSON.encode(headers), as: UTF8.self)) ?? "{}"
    }

    private static func headers(_ text: String?) -> [String: String] {
        guard let text else { return [:] }
        return (try? CairnJSON.decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}

extension WebhookStore {
    /// Queues `payload` as an `event` delivery to each of the repository's active hooks that
    /// take it, in one transaction. `key` names the occurrence: the same key makes no second
    /// delivery, so a task run twice sends once.
    public func deliver(_ event: String, _ payload: some Encodable, repositoryID: Int64, key: String, outbox: Outbox) async throws {
        let active = try await active(repositoryID: repositoryID, event: event)
        guard !active.isEmpty else { return }
        let text = String(decoding: try GitHubJSON.encoder().encode(payload), as: UTF8.self)
        try await outbox.transaction { transaction in
            let targets = active.map { (hookID: $0.id, guid: Self.deliveryGUID(event, key, String($0.id))) }
            try await enqueueDeliveries(targets, event: event, payload: text, in: transaction)
        }
    }
}
