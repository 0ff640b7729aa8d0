import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// Git's smart HTTP protocol at `/<owner>/<repo>.git/…`: authenticates and authorises at the
/// gateway, then streams the request to the repository store and its answer back, both
/// ways at once, never holding a pack in memory.
struct GitController: Sendable {
    let access: RepositoryAccess
    let repostore: InternalClient
    let traffic: TrafficEvents
    let branchRules: BranchRuleService

    func addRoutes(to router: RouterGroup<GatewayContext>) {
        router.get("/:owner/:repo/info/refs") { request, context in
            let service = request.uri.queryParameters["service"].map(String.init) ?? ""
            guard service == "git-upload-pack" || service == "git-receive-pack" else {
                throw GatewayError.forbidden("Only smart HTTP is served: ask for ?service=git-upload-pack or git-receive-pack")
            }
            return try await forward(request, context: context, service: service, path: "info/refs?service=\(service)")
        }
        router.post("/:owner/:repo/git-upload-pack") { request, context in
            try await forward(request, context: context, service: "git-upload-pack", path: "git-upload-pack")
        }
        router.post("/:owner/:repo/git-receive-pack") { request, context in
            try await forward(request, context: context, service: "git-receive-pack", path: "git-receive-pack")
        }
    }

    func forward(_ request: Request, context: GatewayContext, service: String, path: String) async throws -> Response {
        let owner = try context.parameters.require("owner")
        var name = try context.parameters.require("repo")
        if name.hasSuffix(".git") { name.removeLast(4) }
        let caller = context.caller
        let needed: Permission = service == "git-receive-pack" ? .write : .read
        let (repository, permission) = try await access.require(needed, owner: owner, name: name, caller: caller, challengeAnonymous: true)
        let actor = caller.actor(in: repository)

        var headers = HTTPHeaders()
        for field in [HTTPField.Name.contentType, .contentEncoding, .contentLength, HTTPField.Name("Git-Protocol")!] {
            if let value = request.headers[field] { headers.add(name: field.canonicalName, value: value) }
        }
        headers.add(name: ForwardedHeader.visitor, value: traffic.visitorID(request, context, user: actor?.id))
        // A push carries the branch rules, which the repository store's pre-receive hook enforces.
        if service == "git-receive-pack" && request.method == .post, let rules = try await branchRules.inForce(repository, adminExempt: permission >= .admin) {
            headers.add(name: ForwardedHeader.branchRules, value: try rules.headerValue())
        }
        let relay = request.method == .post ? RequestBodyRelay(request.body) : nil
        let length = request.headers[.contentLength].flatMap { QueryNumber.parse($0, in: 0...Int(Int64.max)) }
        let body = relay.map { InternalBody.stream($0.channel, length: length.map { .known(Int64($0)) } ?? .unknown) }
        let upstream: HTTPClientResponse
        do {
            upstream = try await repostore.send(
                request.method == .post ? .POST : .GET, "/repos/\(repository.id)/\(path)", headers: headers, body: body, user: actor?.id,
                timeout: .hours(6))
        } catch {
            await relay?.drain()
            throw error
        }
        var responseHeaders = HTTPFields()
        for name in ["Content-Type", "Cache-Control"] {
            if let value = upstream.headers.first(name: name), let field = HTTPField.Name(name) { responseHeaders[field] = value }
        }
        return Response(status: .init(code: Int(upstream.status.code)), headers: responseHeaders, body: ResponseBody { writer in
            do {
                for try await chunk in CoalescedBody(upstream.body) { try await writer.write(chunk) }
            } catch {
                await relay?.drain()
                throw error
            }
            // The repository store has answered; what it did not read of the body is dropped.
            await relay?.drain()
            try await writer.finish(nil)
        })
    }
}
