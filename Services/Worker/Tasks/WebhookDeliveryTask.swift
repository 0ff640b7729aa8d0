import CairnModel
import CairnProtocol
import Logging

/// `webhook.deliver`: one try of one delivery. A failed try is retried by the queue with
/// backoff; after the last one the delivery shows as failed and stays there until someone
/// redelivers it. A delivery that already succeeded, or whose hook is gone or inactive, is left alone.
struct WebhookDeliveryTask: TaskHandler {
    let hooks: WebhookStore
    let sender: WebhookSender
    let maxAttempts: Int
    let logger: Logger
    let kind = "webhook.deliver"
    let timeLimit: Duration = .seconds(60)

    func handle(_ task: TaskEnvelope) async throws {
        guard let number = task.args["delivery_id"]?.numberValue, number > 0 else {
            throw MalformedTask(description: "webhook.deliver task \(task.id) has no delivery_id")
        }
        guard let (delivery, hook) = try await hooks.pendingDelivery(Int64(number)), hook.active else { return }
        let attempt = await sender.send(delivery, to: hook, attempt: task.attempt + 1)
        let final = task.attempt + 1 >= maxAttempts
        try await hooks.record(attempt, deliveryID: delivery.id, final: final)
        guard !attempt.succeeded else { return }
        let metadata: Logger.Metadata = ["hook.id": "\(hook.id)", "delivery.id": "\(delivery.id)", "delivery.attempt": "\(attempt.attempt)", "error": "\(attempt.error ?? "")"]
        if final {
            logger.warning("webhook.delivery_failed", metadata: metadata)
        } else {
            throw DeliveryFailed(description: "delivery \(delivery.id) to hook \(hook.id): \(attempt.error ?? "failed")")
        }
    }
}

/// A try that did not reach a 2xx answer; the queue retries it.
struct DeliveryFailed: Error, CustomStringConvertible {
    let description: String
}
