public import Hummingbird
import HummingbirdCore
import Logging

/// Logs each request's method and path at `info`, as Hummingbird's request logger does, but
/// with the values of secret query parameters (a signed link's `token`) left out: whoever
/// reads the logs must not be able to download what the links granted.
public struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Query parameters whose values are never logged.
    static var secretParameters: Set<Substring> { ["token", "access_token", "signature"] }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        context.logger.info("Request", metadata: ["hb.request.method": "\(request.method)", "hb.request.path": "\(Self.loggable(request.uri))"])
        return try await next(request, context)
    }

    /// `uri` with the values of secret parameters replaced by `…`.
    public static func loggable(_ uri: URI) -> String {
        guard let query = uri.query, !query.isEmpty else { return uri.path }
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> Substring in
            let name = part.prefix { $0 != "=" }
            return secretParameters.contains(name) && part.count > name.count ? "\(name)=…" : part
        }
        return uri.path + "?" + parts.joined(separator: "&")
    }
}
