import CairnService
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// What the gateway refuses, mapped to status codes and a GitHub-style JSON body
/// (`{"message": …}`). 401s carry `WWW-Authenticate` so git prompts for credentials.
enum GatewayError: Error, HTTPResponseError, CustomStringConvertible {
    case badCredentials
    case authenticationRequired
    case forbidden(String)
    case notFound
    case invalid(String)
    case conflict(String)
    case unavailable(String)
    case unsupported(String)
    /// Not possible as things stand (a pull request that cannot be merged: GitHub's 405).
    case notAllowed(String)
    case tooLarge(String)
    /// Refused for now; `retryAfter` seconds says when to try again.
    case tooManyRequests(String, retryAfter: Int)

    var status: HTTPResponse.Status {
        switch self {
        case .badCredentials, .authenticationRequired: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .invalid: .unprocessableContent
        case .conflict: .conflict
        case .unavailable: .serviceUnavailable
        case .unsupported: .unsupportedMediaType
        case .notAllowed: .methodNotAllowed
        case .tooLarge: .contentTooLarge
        case .tooManyRequests: .tooManyRequests
        }
    }

    var description: String {
        switch self {
        case .badCredentials: "Bad credentials"
        case .authenticationRequired: "Requires authentication"
        case .forbidden(let message), .invalid(let message), .conflict(let message), .unavailable(let message),
             .unsupported(let message), .notAllowed(let message), .tooLarge(let message), .tooManyRequests(let message, _):
            message
        case .notFound: "Not Found"
        }
    }

    /// Seconds a client is asked to wait (`Retry-After`) when a store does not answer.
    static let retryAfterOutage = 5

    /// The `Retry-After` this refusal carries, if any.
    var retryAfter: Int? {
        switch self {
        case .unavailable: Self.retryAfterOutage
        case .tooManyRequests(_, let seconds): max(1, seconds)
        default: nil
        }
    }

    /// A store that does not answer (see `StoreOutage`), logged and told to the client as a 503.
    static func storeOutage(_ error: any Error, _ logger: Logger) -> GatewayError {
        let store = StoreOutage.store(of: error) ?? "a store"
        logger.warning("request.store_unavailable", metadata: ["store": "\(store)", "error": "\(error)"])
        return .unavailable("\(store) is not answering just now; try again in a moment")
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Basic realm=\"Cairn\", charset=\"UTF-8\"" }
        if let seconds = retryAfter { headers[.retryAfter] = String(seconds) }
        let body = (try? APIEncoding.encoder().encode(["message": description])) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: .init(bytes: body)))
    }
}
