import CairnModel
import Foundation
import HTTPTypes
import Hummingbird

/// Refuses every write while the site is read-only (`ReadOnlySwitch`), with 503 and the
/// switch's message in the shape the client reads: plain text for git (which prints it as
/// `remote: …`), JSON for the API and Git LFS, an HTML page for forms. Reads go on: pages,
/// the API's GETs, clones and fetches (`git-upload-pack` is a POST that only reads), LFS
/// downloads, signing in and out, and the admin switches page, so an admin can turn the
/// mode off from the site.
struct ReadOnlyMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let readOnly: ReadOnlySwitch
    let pages: Pages

    /// POST paths that write nothing (or must work to end read-only mode).
    static let readingPosts: Set<String> = ["/login", "/logout", "/admin/switches/readonly"]

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        guard let message = await readOnly.message(), Self.isWrite(request) else { return try await next(request, context) }
        let path = request.uri.path
        if path.hasSuffix("/info/refs") || path.hasSuffix("/git-receive-pack") {
            return Response(
                status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8", .retryAfter: "300"],
                body: .init(byteBuffer: .init(string: message + "\n")))
        }
        if path.hasPrefix("/api/") || path.contains("/info/lfs/") {
            var response = try GatewayError.unavailable(message).response(from: request, context: context)
            response.headers[.retryAfter] = "300"
            if path.contains("/info/lfs/") { response.headers[.contentType] = LFSController.contentType }
            return response
        }
        return try await pages.errorPage(request, context, status: .serviceUnavailable, message: message)
    }

    /// Whether `request` would change something. A push starts with `GET
    /// info/refs?service=git-receive-pack`, refused there so that git stops before sending
    /// its pack; an LFS batch is a POST whose body says upload or download, so the LFS
    /// controller decides.
    static func isWrite(_ request: Request) -> Bool {
        let path = request.uri.path
        switch request.method {
        case .get, .head, .options:
            return path.hasSuffix("/info/refs") && request.uri.queryParameters["service"] == "git-receive-pack"
        case .post:
            return !(readingPosts.contains(path) || path.hasSuffix("/git-upload-pack") || path.hasSuffix("/info/lfs/objects/batch"))
        default:
            return true
        }
    }
}
