import Hummingbird

/// What the repository store refuses, with the HTTP status it maps to.
enum RepoStoreError: Error, HTTPResponseError, CustomStringConvertible {
    case invalidRepositoryID(String)
    case notFound(Int64)
    case alreadyExists(Int64)
    case unknownService(String)
    case gitFailed(command: String, status: String, stderr: String)
    case gitTimedOut(command: String, limit: Duration)

    var status: HTTPResponse.Status {
        switch self {
        case .invalidRepositoryID, .unknownService: .badRequest
        case .notFound: .notFound
        case .alreadyExists: .conflict
        case .gitFailed: .internalServerError
        case .gitTimedOut: .serviceUnavailable
        }
    }

    var description: String {
        switch self {
        case .invalidRepositoryID(let id): "repository id must be a positive integer, got \"\(id)\""
        case .notFound(let id): "repository \(id) does not exist"
        case .alreadyExists(let id): "repository \(id) already exists"
        case .unknownService(let service): "unknown git service \"\(service)\": use git-upload-pack or git-receive-pack"
        case .gitFailed(let command, let status, let stderr): "git \(command) failed (\(status)): \(stderr)"
        case .gitTimedOut(let command, let limit): "git \(command) took longer than \(limit) and was stopped"
        }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        try HTTPError(status, message: description).response(from: request, context: context)
    }
}
