import CairnProtocol
import CairnService
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST /repos/{id}/session/{git-upload-pack|git-receive-pack}`: one whole git session, as an
/// SSH server relays it — not stateless: git talks first (its refs), the client answers, and
/// so on, both ways at once over one request. The request body goes to git's standard input
/// as it arrives and git's output to the response as it is made, so the caller must read the
/// answer while it still sends. A push gets the same hooks, spool record, branch rules and
/// checks as over HTTP; `Git-Protocol` passes protocol v2 on.
struct GitSessionController: Sendable {
    let locator: RepositoryLocator
    let git: Git
    let pushes: PushRecorder
    let spool: PushSpool
    let maxPushBytes: Int

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/repos/:id/session/:service") { request, context in
            let service = try context.parameters.require("service")
            guard SmartHTTPController.services.contains(service) else { throw RepoStoreError.unknownService(service) }
            let id = try context.parameters.require("id")
            let path = try locator.path(for: id)
            guard let number = Int64(id), locator.exists(number) else { throw RepoStoreError.notFound(Int64(id) ?? 0) }
            return try serve(request, context: context, service: service, repository: number, path: path)
        }
    }

    private func serve(_ request: Request, context: BasicRequestContext, service: String, repository: Int64, path: String) throws -> Response {
        let isPush = service == "git-receive-pack"
        let user = request.headers[HTTPField.Name(ForwardedHeader.user)!]
        let visitor = request.headers[HTTPField.Name(ForwardedHeader.visitor)!]
        // A session that only listed refs (`git ls-remote`) is no clone or fetch.
        let fetched = Flag()
        let push = isPush ? UUID().uuidString.lowercased() : nil
        let environment = try SmartHTTPController.gitEnvironment(request, repository: repository, push: push, spool: spool, maxPushBytes: maxPushBytes)
        let arguments = [isPush ? "receive-pack" : "upload-pack", path]
        let gitEnvironment = environment
        let logger = context.logger
        let body = ResponseBody { writer in
            if let push { spool.claim(push) }
            defer { if let push { spool.release(push) } }
            let exit = try await git.stream(arguments, environment: gitEnvironment, readsInput: true) { stdin, stdout in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        defer { stdin.close() }
                        var wants = WantLines()
                        do {
                            for try await buffer in request.body {
                                if !isPush && !fetched.value && wants.find(in: buffer) { fetched.set(true) }
                                try await stdin.write(buffer)
                            }
                        } catch {
                            logger.debug("git.session_stdin_closed", metadata: ["error": "\(error)"])
                        }
                    }
                    while let chunk = try await stdout.read() { try await writer.write(chunk) }
                    try await group.waitForAll()
                }
            }
            if !exit.succeeded {
                logger.warning("git.session_failed", metadata: ["repo.id": "\(repository)", "git.service": "\(service)", "git.status": "\(exit.status)"])
            }
            if let push { await pushes.record(push: push, logger: logger) }
            if !isPush && fetched.value { pushes.recordFetch(repository: repository, user: user.flatMap { Int64($0) }, visitor: visitor) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-\(service)-session", .cacheControl: "no-cache"], body: body)
    }
}

/// Finds git's `want <oid>` lines in a fetch's input, across the chunks it arrives in: a
/// session without one only listed refs. (Over HTTP, where git may gzip a request's body,
/// `SmartHTTPController` tells an `ls-refs` request by its first line instead.)
struct WantLines {
    private var tail: [UInt8] = []
    private static let marker = Array("want ".utf8)

    /// Whether a `want ` begins in `buffer` (or straddles it and the chunk before).
    mutating func find(in buffer: ByteBuffer) -> Bool {
        let bytes = tail + buffer.readableBytesView
        tail = Array(buffer.readableBytesView.suffix(Self.marker.count - 1))
        guard bytes.count >= Self.marker.count else { return false }
        return (0...(bytes.count - Self.marker.count)).contains { bytes[$0..<($0 + Self.marker.count)].elementsEqual(Self.marker) }
    }
}
