import CairnModel
import CairnService
import Hummingbird
import HTTPTypes
import Logging

/// Turns errors on page routes into friendly HTML pages: the message for what the visitor
/// did wrong (404, 403, 422 …), a redirect to sign in for 401, and for a failure of ours a
/// page that names the request id.
struct PageErrorMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let pages: Pages
    let reporter: ErrorReporter

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError where error.status == .unauthorized {
            return pages.redirect("/login?next=" + InternalClient.percentEncode(request.uri.path))
        } catch let error as any HTTPResponseError {
            let message: String = switch error {
            case let gateway as GatewayError: gateway.description
            case let http as HTTPError: http.body ?? http.status.reasonPhrase
            default: error.status.reasonPhrase
            }
            var response = try await pages.errorPage(request, context, status: error.status, message: message)
            if let seconds = (error as? GatewayError)?.retryAfter { response.headers[.retryAfter] = String(seconds) }
            return response
        } catch where StoreOutage.store(of: error) != nil {
            let outage = GatewayError.storeOutage(error, context.logger)
            var response = try await pages.errorPage(request, context, status: outage.status, message: outage.description)
            if let seconds = outage.retryAfter { response.headers[.retryAfter] = String(seconds) }
            return response
        } catch {
            let visitor = try? await pages.sessions.visitor(request)
            await reporter.report(error, request, context, userID: visitor?.user?.id)
            // Site admins see what went wrong; everyone else the request id.
            let details = visitor?.user?.isAdmin == true ? String(reflecting: error) : nil
            return try await pages.errorPage(
                request, context, status: .internalServerError, message: "Something went wrong on our side.", details: details, visitor: visitor)
        }
    }
}

extension Pages {
    /// The friendly error page: `message`, and the request id for a failure of ours. The
    /// visitor is read from the request unless the caller has them already.
    func errorPage(
        _ request: Request, _ context: GatewayContext, status: HTTPResponse.Status, message: String, details: String? = nil, visitor known: Visitor? = nil
    ) async throws -> Response {
        let visitor = if let known { known } else { try? await sessions.visitor(request) }
        let shown = try visitor ?? sessions.anonymous()
        let view = ErrorView(
            status: Int(status.code), reason: status.reasonPhrase, message: message,
            requestID: status.code >= 500 ? context.id : nil, details: details, notFound: status == .notFound,
            signIn: status == .forbidden && shown.user == nil ? request.uri.path : nil)
        return page("error", title: "\(status.code) \(status.reasonPhrase)", shown, view, status: status)
    }
}

struct ErrorView {
    let status: Int
    let reason: String
    let message: String
    let requestID: String?
    /// The error in full, for site admins.
    let details: String?
    let notFound: Bool
    /// Where to come back to after signing in, when signing in might help.
    let signIn: String?
}
