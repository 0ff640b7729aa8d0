import CairnService
import CairnModel
import Hummingbird
import Logging

/// Turns an unhandled error into an error report (see `ErrorReportStore`), grouped by the
/// error's type and the route it came from. Reporting never fails the request: if the
/// database cannot take the report, the error is only logged.
struct ErrorReporter: Sendable {
    let reports: ErrorReportStore

    /// Records `error`; logs it too unless `log` is false (when the caller's caller logs it).
    func report(_ error: any Error, _ request: Request, _ context: GatewayContext, userID: Int64?, log: Bool = true) async {
        let details = String(reflecting: error)
        if log { context.logger.error("request.unhandled_error", metadata: ["error": "\(details)"]) }
        let site = "\(request.method) \(context.endpointPath ?? request.uri.path)"
        do {
            try await reports.record(
                type: String(reflecting: type(of: error)), site: site, message: String(describing: error), details: details,
                request: "\(request.method) \(request.uri.path)", userID: userID, requestID: context.id)
        } catch {
            context.logger.error("error_report.not_recorded", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}

/// Reports the unhandled errors of routes outside the pages (the API, git, LFS) and passes
/// them on to become a 500; page routes report theirs in `PageErrorMiddleware`, with the
/// signed-in user.
struct ErrorReportMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let reporter: ErrorReporter

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch where StoreOutage.store(of: error) != nil {
            throw GatewayError.storeOutage(error, context.logger)
        } catch {
            // `RequestIDMiddleware`, outside this one, logs it and answers 500.
            await reporter.report(error, request, context, userID: nil, log: false)
            throw error
        }
    }
}
