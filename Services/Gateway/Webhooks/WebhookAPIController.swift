import CairnService
import CairnModel
import HTTPTypes
import Hummingbird

/// The GitHub-compatible hooks API, for repository admins:
/// `GET|POST /api/v3/repos/{o}/{r}/hooks`, `GET|PATCH|DELETE …/hooks/{id}`,
/// `POST …/hooks/{id}/pings`, `GET …/hooks/{id}/deliveries[/{delivery}]`,
/// `POST …/hooks/{id}/deliveries/{delivery}/attempts`.
struct WebhookAPIController: Sendable {
    let access: RepositoryAccess
    let hooks: WebhookStore
    let service: WebhookService
    let baseURL: String

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        let list = router.group("/api/v3/repos/:owner/:repo/hooks").repository(.admin, access)
        list.get { request, context in
            let repository = try context.resolvedRepository().repository
            let last = try await hooks.lastDeliveries(repositoryID: repository.id)
            let all = try await hooks.list(repositoryID: repository.id)
            return try APIEncoding.response(all.map { APIHook($0, repository: repository, baseURL: baseURL, lastDelivery: last[$0.id]) })
        }
        list.post { request, context in
            let (repository, user) = try repositoryAndAdmin(context)
            let input = try await APIEncoding.decode(HookInput.self, from: request, context: context)
            guard input.name == nil || input.name == "web" else { throw GatewayError.invalid("name: only \"web\" hooks exist") }
            guard input.config?.url != nil else { throw GatewayError.invalid("config.url is required") }
            let hook = try await service.create(try input.settings(), on: repository, by: user)
            return try APIEncoding.response(APIHook(hook, repository: repository, baseURL: baseURL, lastDelivery: nil), status: .created)
        }
        let one = list.group(":hook")
        one.get { request, context in
            let repository = try context.resolvedRepository().repository
            let hook = try await service.hook(context.parameters.require("hook"), of: repository)
            let last = try await hooks.deliveries(hookID: hook.id, limit: 1).first
            return try APIEncoding.response(APIHook(hook, repository: repository, baseURL: baseURL, lastDelivery: last))
        }
        one.patch { request, context in
            let repository = try context.resolvedRepository().repository
            let existing = try await service.hook(context.parameters.require("hook"), of: repository)
            let input = try await APIEncoding.decode(HookInput.self, from: request, context: context)
            var settings = try input.settings()
            if input.addEvents != nil || input.removeEvents != nil {
                var events = Set(settings.events ?? existing.events)
                events.formUnion(input.addEvents ?? [])
                events.subtract(input.removeEvents ?? [])
                settings.events = events.sorted()
            }
            guard let updated = try await service.update(existing.id, on: repository, settings) else { throw GatewayError.notFound }
            let last = try await hooks.deliveries(hookID: updated.id, limit: 1).first
            return try APIEncoding.response(APIHook(updated, repository: repository, baseURL: baseURL, lastDelivery: last))
        }
        one.delete { request, context in
            let repository = try context.resolvedRepository().repository
            let hook = try await service.hook(context.parameters.require("hook"), of: repository)
            _ = try await hooks.delete(hook.id, repositoryID: repository.id)
            return Response(status: .noContent)
        }
        one.post("pings") { request, context in
            let (repository, user) = try repositoryAndAdmin(context)
            try await service.ping(try await service.hook(context.parameters.require("hook"), of: repository), repository: repository, sender: user)
            return Response(status: .noContent)
        }
        one.get("deliveries") { request, context in
            let repository = try context.resolvedRepository().repository
            let hook = try await service.hook(context.parameters.require("hook"), of: repository)
            let query = request.uri.queryParameters
            let perPage = try QueryNumber.readClamped(request, "per_page", in: 1...100, default: 30)
            let before = try query["cursor"].map { text -> Int64 in
                guard let cursor = QueryNumber.parse(text, in: 1...Int(Int64.max)) else { throw HTTPError(.badRequest, message: "cursor must be a delivery id") }
                return Int64(cursor)
            }
            let page = try await hooks.deliveries(hookID: hook.id, limit: perPage, before: before)
            var headers: HTTPFields = [:]
            if page.count == perPage, let last = page.last {
                let next = "\(baseURL)\(request.uri.path)?per_page=\(perPage)&cursor=\(last.id)"
                headers[HTTPField.Name("Link")!] = "<\(next)>; rel=\"next\""
            }
            return try APIEncoding.response(page.map { APIDelivery($0, hook: hook, detail: false) }, headers: headers)
        }
        one.get("deliveries/:delivery") { request, context in
            let repository = try context.resolvedRepository().repository
            let hook = try await service.hook(context.parameters.require("hook"), of: repository)
            let delivery = try await service.delivery(context.parameters.require("delivery"), of: hook)
            return try APIEncoding.response(APIDelivery(delivery, hook: hook, detail: true))
        }
        one.post("deliveries/:delivery/attempts") { request, context in
            let repository = try context.resolvedRepository().repository
            let hook = try await service.hook(context.parameters.require("hook"), of: repository)
            _ = try await service.redeliver(try await service.delivery(context.parameters.require("delivery"), of: hook))
            return Response(status: .accepted, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: .init(string: "{}")))
        }
    }

    /// The hook fields of GitHub's create and edit bodies.
    struct HookInput: Decodable {
        struct Config: Decodable {
            let url: String?
            let contentType: String?
            let secret: String?
            let insecureSsl: String?
        }

        let name: String?
        let config: Config?
        let events: [String]?
        let addEvents: [String]?
        let removeEvents: [String]?
        let active: Bool?

        func settings() throws -> WebhookStore.Settings {
            var contentType: Webhook.ContentType?
            if let name = config?.contentType {
                guard let parsed = Webhook.ContentType(rawValue: name) else { throw GatewayError.invalid("config.content_type must be json or form") }
                contentType = parsed
            }
            if let insecure = config?.insecureSsl, insecure != "0" {
                throw GatewayError.invalid("config.insecure_ssl: Cairn always verifies TLS certificates")
            }
            return WebhookStore.Settings(url: config?.url, secret: config?.secret, contentType: contentType, events: events, active: active)
        }
    }

    /// The route's repository and the admin calling (the routes require admin, which only a
    /// signed-in user can have).
    private func repositoryAndAdmin(_ context: GatewayContext) throws -> (Repository, User) {
        guard let user = context.caller.user else { throw GatewayError.authenticationRequired }
        return (try context.resolvedRepository().repository, user)
    }
}
