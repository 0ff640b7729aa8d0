import CairnDatabase
import CairnModel
import Foundation

/// What the API and the settings pages do with hooks beyond the store's plain edits:
/// creating one (which pings it, as GitHub does), pinging, and redelivering. Every delivery
/// row is written with its task in one transaction.
struct WebhookService: Sendable {
    let hooks: WebhookStore
    let outbox: Outbox
    let baseURL: String

    /// Adds a hook and sends it a `ping`.
    func create(_ settings: WebhookStore.Settings, on repository: Repository, by user: User) async throws -> Webhook {
        let hook: Webhook
        do {
            hook = try await hooks.create(repositoryID: repository.id, settings)
        } catch let error as ModelError {
            throw GatewayError(error)
        }
        if hook.active { try await ping(hook, repository: repository, sender: user) }
        return hook
    }

    /// Edits a hook; nil when it is not the repository's.
    func update(_ id: Int64, on repository: Repository, _ settings: WebhookStore.Settings) async throws -> Webhook? {
        do {
            return try await hooks.update(id, repositoryID: repository.id, settings)
        } catch let error as ModelError {
            throw GatewayError(error)
        }
    }

    /// The repository's hook whose id is `idText` (a route parameter); 404 otherwise.
    func hook(_ idText: String, of repository: Repository) async throws -> Webhook {
        guard let id = Int64(idText), let hook = try await hooks.find(id, repositoryID: repository.id) else { throw GatewayError.notFound }
        return hook
    }

    /// The hook's delivery whose id is `idText`; 404 otherwise.
    func delivery(_ idText: String, of hook: Webhook) async throws -> WebhookDelivery {
        guard let id = Int64(idText), let delivery = try await hooks.delivery(id, hookID: hook.id) else { throw GatewayError.notFound }
        return delivery
    }

    /// Queues a `ping` delivery to `hook`.
    func ping(_ hook: Webhook, repository: Repository, sender: User) async throws {
        let payload = PingEventPayload(hook: hook, repository: repository, sender: sender, baseURL: baseURL)
        let text = String(decoding: try GitHubJSON.encoder().encode(payload), as: UTF8.self)
        try await outbox.transaction { transaction in
            try await hooks.enqueueDelivery(hookID: hook.id, guid: UUID(), event: "ping", payload: text, in: transaction)
        }
    }

    /// Queues a new delivery of what `delivery` sent, marked as a redelivery; returns its id.
    func redeliver(_ delivery: WebhookDelivery) async throws -> Int64? {
        try await outbox.transaction { transaction in
            try await hooks.enqueueDelivery(hookID: delivery.hookID, guid: UUID(), event: delivery.event, payload: delivery.payload, redelivery: true, in: transaction)
        }
    }
}
