import CairnModel
import CairnProtocol
import Crypto
import Foundation

/// Sends one delivery to its hook: the body in the hook's content type, GitHub's headers and
/// Cairn's own, and the body's HMAC-SHA256 under the hook's secret, so that a receiver
/// written for GitHub verifies it unchanged.
struct WebhookSender: Sendable {
    let client: OutboundClient
    static let userAgent = "Cairn-Hookshot/1"

    /// One try; `attempt` counts from 1.
    func send(_ delivery: WebhookDelivery, to hook: Webhook, attempt: Int) async -> WebhookAttempt {
        let body = Self.body(delivery.payload, contentType: hook.contentType)
        let headers = Self.headers(delivery, hook: hook, body: body)
        let startedAt = Date()
        let result = await client.post(hook.url, headers: headers, body: body)
        var error = result.error
        if error == nil, let status = result.statusCode, !(200..<300).contains(status) {
            error = (300..<400).contains(status) ? "answered \(status) (redirects are not followed)" : "answered \(status)"
        }
        return WebhookAttempt(
            attempt: attempt, startedAt: startedAt, durationMilliseconds: result.duration.wholeMilliseconds, statusCode: result.statusCode,
            requestHeaders: Dictionary(headers, uniquingKeysWith: { $1 }), responseHeaders: result.headers, responseBody: result.body, error: error)
    }

    /// The payload as JSON, or as GitHub's form with one `payload` field.
    static func body(_ payload: String, contentType: Webhook.ContentType) -> [UInt8] {
        switch contentType {
        case .json: Array(payload.utf8)
        case .form: Array(("payload=" + (payload.addingPercentEncoding(withAllowedCharacters: formSafe) ?? "")).utf8)
        }
    }

    static func headers(_ delivery: WebhookDelivery, hook: Webhook, body: [UInt8]) -> [(String, String)] {
        let guid = delivery.guid.uuidString.lowercased()
        var headers: [(String, String)] = [
            ("Content-Type", hook.contentType.mediaType), ("User-Agent", userAgent),
            ("X-GitHub-Event", delivery.event), ("X-GitHub-Delivery", guid), ("X-GitHub-Hook-ID", String(hook.id)),
            ("X-GitHub-Hook-Installation-Target-Type", "repository"), ("X-GitHub-Hook-Installation-Target-ID", String(hook.repositoryID)),
            ("X-Cairn-Event", delivery.event), ("X-Cairn-Delivery", guid), ("X-Cairn-Hook-ID", String(hook.id)),
        ]
        if !hook.secret.isEmpty {
            let signature = "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(hook.secret.utf8))).hexString
            headers += [("X-Hub-Signature-256", signature), ("X-Cairn-Signature-256", signature)]
        }
        return headers
    }

    private static let formSafe = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*")
}
