import CairnModel
import CairnProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// A repository's webhooks in its settings, for admins: the list, add, edit, delete, ping,
/// recent deliveries with the request sent and the answer received, and redelivery.
struct WebhookPagesController: Sendable {
    let pages: Pages
    let repositoryPages: RepositoryPages
    let hooks: WebhookStore
    let service: WebhookService

    func addRoutes(to routes: RouterGroup<GatewayContext>) {
        let router = repositoryPages.routes(routes, requiring: .admin, refusal: "Only the repository's admins can change its settings.")
        router.get("/:owner/:repo/settings/hooks") { request, context in
            try await list(try await repositoryPages.load(request, context))
        }
        router.post("/:owner/:repo/settings/hooks") { request, context in
            let page = try await repositoryPages.load(request, context)
            let form = try await pages.form(request, page.visitor)
            do {
                let hook = try await service.create(settings(form), on: page.repository, by: page.visitor.user!)
                return pages.redirect("/\(page.repository.fullName)/settings/hooks/\(hook.id)")
            } catch GatewayError.invalid(let message) {
                return try await list(page, error: message, status: .unprocessableContent)
            }
        }
        router.get("/:owner/:repo/settings/hooks/:hook") { request, context in
            let page = try await repositoryPages.load(request, context)
            return try await detail(page, try await service.hook(context.parameters.require("hook"), of: page.repository))
        }
        router.post("/:owner/:repo/settings/hooks/:hook") { request, context in
            let page = try await repositoryPages.load(request, context)
            let hook = try await service.hook(context.parameters.require("hook"), of: page.repository)
            let form = try await pages.form(request, page.visitor)
            do {
                _ = try await service.update(hook.id, on: page.repository, settings(form))
            } catch GatewayError.invalid(let message) {
                return try await detail(page, hook, error: message, status: .unprocessableContent)
            }
            return pages.redirect("/\(page.repository.fullName)/settings/hooks/\(hook.id)")
        }
        router.post("/:owner/:repo/settings/hooks/:hook/delete") { request, context in
            let page = try await repositoryPages.load(request, context)
            let hook = try await service.hook(context.parameters.require("hook"), of: page.repository)
            _ = try await pages.form(request, page.visitor)
            _ = try await hooks.delete(hook.id, repositoryID: page.repository.id)
            return pages.redirect("/\(page.repository.fullName)/settings/hooks")
        }
        router.post("/:owner/:repo/settings/hooks/:hook/ping") { request, context in
            let page = try await repositoryPages.load(request, context)
            let hook = try await service.hook(context.parameters.require("hook"), of: page.repository)
            _ = try await pages.form(request, page.visitor)
            try await service.ping(hook, repository: page.repository, sender: page.visitor.user!)
            return pages.redirect("/\(page.repository.fullName)/settings/hooks/\(hook.id)")
        }
        router.get("/:owner/:repo/settings/hooks/:hook/deliveries/:delivery") { request, context in
            let page = try await repositoryPages.load(request, context)
            let hook = try await service.hook(context.parameters.require("hook"), of: page.repository)
            let delivery = try await service.delivery(context.parameters.require("delivery"), of: hook)
            let attempts = try await hooks.attempts(deliveryID: delivery.id)
            let view = DeliveryView(delivery, hook: hook, fullName: page.repository.fullName, attempts: attempts)
            return render(page, "webhook_delivery", view, title: "Delivery \(view.guid) · \(page.repository.fullName)", status: .ok)
        }
        router.post("/:owner/:repo/settings/hooks/:hook/deliveries/:delivery/redeliver") { request, context in
            let page = try await repositoryPages.load(request, context)
            let hook = try await service.hook(context.parameters.require("hook"), of: page.repository)
            let delivery = try await service.delivery(context.parameters.require("delivery"), of: hook)
            _ = try await pages.form(request, page.visitor)
            _ = try await service.redeliver(delivery)
            return pages.redirect("/\(page.repository.fullName)/settings/hooks/\(hook.id)")
        }
    }

    /// The store settings a hook form submitted; a blank secret keeps the old one (none for a new hook).
    private func settings(_ form: PageForm) -> WebhookStore.Settings {
        let secret = form.text("secret")
        return WebhookStore.Settings(
            url: form.text("url"), secret: secret.isEmpty ? nil : secret,
            contentType: Webhook.ContentType(rawValue: form.text("content_type")) ?? .json, events: Self.events(form), active: form["active"] == "on")
    }

    /// The events a form's `event_<name>` boxes chose (`push` when none is).
    static func events(_ form: PageForm) -> [String] {
        let chosen = Webhook.knownEvents.sorted().filter { form.isChecked("event_\($0)") }
        return chosen.isEmpty ? ["push"] : chosen
    }

    private func list(_ page: RepositoryPage, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let repository = page.repository
        let last = try await hooks.lastDeliveries(repositoryID: repository.id)
        let items = try await hooks.list(repositoryID: repository.id).map { HookView($0, fullName: repository.fullName, last: last[$0.id]) }
        let view = WebhookListView(fullName: repository.fullName, hooks: items, error: error)
        return render(page, "webhooks", view, title: "Webhooks · \(repository.fullName)", status: status)
    }

    private func detail(_ page: RepositoryPage, _ hook: Webhook, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let deliveries = try await hooks.deliveries(hookID: hook.id, limit: 30)
        let view = WebhookDetailView(
            hook: HookView(hook, fullName: page.repository.fullName, last: deliveries.first),
            deliveries: deliveries.map { DeliveryView($0, hook: hook, fullName: page.repository.fullName, attempts: []) }, error: error)
        return render(page, "webhook", view, title: "Webhook \(hook.id) · \(page.repository.fullName)", status: status)
    }

    private func render(_ page: RepositoryPage, _ template: String, _ view: Any, title: String, status: HTTPResponse.Status) -> Response {
        repositoryPages.repositoryPage(
            page, header: page.header("settings", baseURL: repositoryPages.baseURL), body: pages.renderer.render(template, view, csrf: page.visitor.csrfToken),
            title: title, status: status)
    }

}

struct WebhookListView {
    let fullName: String
    let hooks: [HookView]
    let error: String?
    /// The new hook form's boxes: push chosen.
    let eventChoices = EventChoice.all(chosen: ["push"])
}

/// One event's box on a hook form.
struct EventChoice {
    let name: String
    let checked: Bool

    static func all(chosen: [String]) -> [EventChoice] {
        Webhook.knownEvents.sorted().map { EventChoice(name: $0, checked: chosen.contains($0)) }
    }
}

struct WebhookDetailView {
    let hook: HookView
    let deliveries: [DeliveryView]
    let error: String?
}

struct HookView {
    let id: Int64
    let url: String
    let fullName: String
    let events: String
    let eventChoices: [EventChoice]
    let active: Bool
    let hasSecret: Bool
    let json: Bool
    /// `never delivered`, or the last delivery's `hookState`.
    let state: String
    let failing: Bool

    init(_ hook: Webhook, fullName: String, last: WebhookDelivery?) {
        id = hook.id
        url = hook.url
        self.fullName = fullName
        events = hook.events.joined(separator: ", ")
        eventChoices = EventChoice.all(chosen: hook.events)
        active = hook.active
        hasSecret = !hook.secret.isEmpty
        json = hook.contentType == .json
        state = last?.hookState ?? "never delivered"
        failing = state == "failing" || state == "retrying"
    }
}

struct DeliveryView {
    struct Header {
        let name: String
        let value: String
    }

    struct Attempt {
        let number: Int
        let when: String
        let outcome: String
        let duration: String
    }

    let id: Int64
    let guid: String
    let url: String
    let hookID: Int64
    let fullName: String
    let event: String
    let redelivery: Bool
    let ok: Bool
    let outcome: String
    let when: String
    let duration: String
    let requestHeaders: [Header]
    let payload: String
    let responseHeaders: [Header]
    let responseBody: String
    let attempts: [Attempt]

    init(_ delivery: WebhookDelivery, hook: Webhook, fullName: String, attempts: [WebhookAttempt]) {
        id = delivery.id
        guid = delivery.guid.uuidString.lowercased()
        url = hook.url
        hookID = hook.id
        self.fullName = fullName
        event = delivery.event
        redelivery = delivery.redelivery
        ok = delivery.status == .ok
        outcome = Self.outcome(statusCode: delivery.statusCode, error: delivery.error, pending: delivery.status == .pending && delivery.attempts == 0)
        when = PageFormat.age(delivery.deliveredAt ?? delivery.createdAt)
        duration = delivery.durationMilliseconds.map { "\($0) ms" } ?? "—"
        requestHeaders = delivery.requestHeaders.sorted { $0.key < $1.key }.map { Header(name: $0.key, value: $0.value) }
        payload = Self.pretty(delivery.payload)
        responseHeaders = delivery.responseHeaders.sorted { $0.key < $1.key }.map { Header(name: $0.key, value: $0.value) }
        responseBody = delivery.responseBody ?? ""
        self.attempts = attempts.map {
            Attempt(number: $0.attempt, when: PageFormat.age($0.startedAt), outcome: Self.outcome(statusCode: $0.statusCode, error: $0.error, pending: false), duration: "\($0.durationMilliseconds) ms")
        }
    }

    static func outcome(statusCode: Int?, error: String?, pending: Bool) -> String {
        if pending { return "waiting to be sent" }
        if let error { return error }
        return statusCode.map { "answered \($0)" } ?? "no answer"
    }

    /// The payload indented for reading.
    static func pretty(_ json: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else { return json }
        return String(decoding: data, as: UTF8.self)
    }
}
