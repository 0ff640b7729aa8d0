import CairnProtocol
public import Hummingbird
import Logging
import HTTPTypes

/// Echoes the request id (the one Hummingbird puts on every request's log lines) in an
/// `X-Request-Id` response header, so a person reporting an error can name the request.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let name = HTTPField.Name(InternalHeader.requestID)!
        do {
            var response = try await next(request, context)
            response.headers[name] = context.id
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[name] = context.id
            return response
        } catch {
            context.logger.error("request.unhandled_error", metadata: ["error": "\(String(reflecting: error))"])
            var response = Response(status: .internalServerError, body: .init(byteBuffer: .init(string: "internal error; request id \(context.id)\n")))
            response.headers[name] = context.id
            return response
        }
    }
}
