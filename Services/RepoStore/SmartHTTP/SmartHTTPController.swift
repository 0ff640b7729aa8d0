import CairnProtocol
import CairnService
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Git's smart HTTP protocol (v0 and v2), served by `git http-backend` and streamed both
/// ways: the request body goes to git's standard input as it arrives and git's output goes
/// to the client as it is made, through `PolledPipe`s, so no pack is ever held in memory
/// whole.
struct SmartHTTPController: Sendable {
    let locator: RepositoryLocator
    let git: Git
    let pushes: PushRecorder
    let spool: PushSpool
    /// Pushes whose pack is larger than this are refused by git (`receive.maxInputSize`).
    let maxPushBytes: Int

    static let services: Set<String> = ["git-upload-pack", "git-receive-pack"]

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/repos/:id/info/refs") { request, context in
            let service = request.uri.queryParameters["service"].map(String.init) ?? ""
            guard Self.services.contains(service) else { throw RepoStoreError.unknownService(service) }
            return try serve(request, context: context, service: service, suffix: "info/refs")
        }
        for service in Self.services {
            router.post("/repos/:id/\(service)") { request, context in
                try serve(request, context: context, service: service, suffix: service)
            }
        }
    }

    /// What every git that serves a client gets, over HTTP or in a whole session: the receive
    /// checks, reflogs (an operator sees, and can undo, what each push did to a ref),
    /// `refs/pull/*` hidden from pushes (the store's own), `GIT_PROTOCOL`, and for a push
    /// (`push`: its id) the spool record's names and the branch rules for the `pre-receive` hook.
    static func gitEnvironment(_ request: Request, repository: Int64, push: String?, spool: PushSpool, maxPushBytes: Int) throws -> [String: String] {
        var environment = ReceiveChecks.environment(extra: [
            ("receive.maxInputSize", String(maxPushBytes)), ("core.logAllRefUpdates", "always"), ("receive.hideRefs", "refs/pull/"),
        ])
        if let version = request.headers[HTTPField.Name("Git-Protocol")!] { environment["GIT_PROTOCOL"] = version }
        guard let push else { return environment }
        environment["CAIRN_SPOOL"] = spool.folder
        environment["CAIRN_PUSH_ID"] = push
        environment["CAIRN_REPO_ID"] = String(repository)
        if let user = request.headers[HTTPField.Name(ForwardedHeader.user)!], let pusher = Int64(user) { environment["CAIRN_PUSHER"] = String(pusher) }
        if let rules = try branchRules(request) {
            environment["CAIRN_BRANCH_RULES"] = rules
            environment["CAIRN_HOOK_BINARY"] = executablePath
        }
        return environment
    }

    /// The branch rules the gateway sent with a push, as the JSON the hook reads; nil when
    /// none. Rules that cannot be read refuse the push (400), never drop the rules.
    static func branchRules(_ request: Request) throws -> String? {
        guard let encoded = request.headers[HTTPField.Name(ForwardedHeader.branchRules)!], !encoded.isEmpty else { return nil }
        guard let data = Data(base64Encoded: encoded), (try? JSONDecoder().decode(BranchRulesInForce.self, from: data)) != nil else {
            throw HTTPError(.badRequest, message: "\(ForwardedHeader.branchRules) is not base64 JSON of branch rules")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The `cairn-repostore` executable, which git runs as the `pre-receive` hook: this one, or
    /// (when the store runs inside another program, as in the tests) the one beside it.
    static let executablePath: String = {
        let running = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let url = URL(fileURLWithPath: running)
        return url.lastPathComponent == Daemon.repostore.executable ? running : url.deletingLastPathComponent().appendingPathComponent(Daemon.repostore.executable).path
    }()

    func serve(_ request: Request, context: BasicRequestContext, service: String, suffix: String) throws -> Response {
        let id = try context.parameters.require("id")
        _ = try locator.path(for: id)
        guard let number = Int64(id), locator.exists(number) else { throw RepoStoreError.notFound(Int64(id) ?? 0) }
        let advertisement = suffix == "info/refs"
        let isPush = service == "git-receive-pack" && !advertisement
        let user = request.headers[HTTPField.Name(ForwardedHeader.user)!]
        let visitor = request.headers[HTTPField.Name(ForwardedHeader.visitor)!]

        var environment = [
            "GIT_PROJECT_ROOT": locator.root,
            "PATH_INFO": "/\(id).git/\(suffix)",
            "REQUEST_METHOD": request.method.rawValue,
            "QUERY_STRING": request.uri.query ?? "",
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": user ?? "anonymous",
            "REMOTE_ADDR": "127.0.0.1",
        ]
        if let type = request.headers[.contentType] { environment["CONTENT_TYPE"] = type }
        if let length = request.headers[.contentLength] { environment["CONTENT_LENGTH"] = length }
        if let encoding = request.headers[.contentEncoding] { environment["HTTP_CONTENT_ENCODING"] = encoding }
        let push = isPush ? UUID().uuidString.lowercased() : nil
        environment.merge(try Self.gitEnvironment(request, repository: number, push: push, spool: spool, maxPushBytes: maxPushBytes)) { $1 }

        let gitEnvironment = environment
        let contentType = advertisement ? "application/x-\(service)-advertisement" : "application/x-\(service)-result"
        let logger = context.logger
        let listsRefsOnly = Flag()
        let body = ResponseBody { writer in
            // However the request ends, a record the hook wrote is then the relay's to send.
            if let push { spool.claim(push) }
            defer { if let push { spool.release(push) } }
            let exit = try await git.stream(["http-backend"], environment: gitEnvironment, readsInput: true) { stdin, stdout in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        defer { stdin.close() }
                        var first = true
                        do {
                            for try await buffer in CoalescedBody(request.body) {
                                if first {
                                    // Protocol v2 asks for refs in a POST of its own: not a clone or fetch.
                                    listsRefsOnly.set(buffer.readableBytesView.starts(with: Array("0014command=ls-refs".utf8)))
                                    first = false
                                }
                                try await stdin.write(buffer)
                            }
                        } catch {
                            // git stopped reading (it refused the push, say): what it wrote
                            // still goes to the client, so this is not the request's failure.
                            logger.debug("git.stdin_closed", metadata: ["error": "\(error)"])
                        }
                    }
                    var reader = CGIResponseReader()
                    while var chunk = try await stdout.read() {
                        if !reader.headerDone {
                            chunk = ByteBuffer(bytes: reader.feed(Array(chunk.readableBytesView)))
                            if chunk.readableBytes == 0 { continue }
                        }
                        try await writer.write(chunk)
                    }
                    // The rest of the request body is still read (and dropped when git stopped
                    // reading). Cutting it short was tried: the fuzz test then saw one 503 from
                    // the gateway, likely the connection dropped before the request was read whole.
                    try await group.waitForAll()
                    if reader.status != 200 {
                        logger.warning("git.http_backend_status", metadata: ["git.status": "\(reader.status)", "repo.id": "\(id)"])
                    }
                }
            }
            if !exit.succeeded {
                logger.warning("git.http_backend_failed", metadata: [
                    "repo.id": "\(id)", "git.service": "\(service)", "git.status": "\(exit.status)", "git.stderr": "\(exit.stderr)",
                ])
            }
            // Recorded before the response ends, so the pusher's next request sees HEAD fixed and
            // the event and task are queued by the time git reports success.
            if let push { await pushes.record(push: push, logger: logger) }
            if service == "git-upload-pack" && !advertisement && !listsRefsOnly.value { pushes.recordFetch(repository: number, user: user.flatMap { Int64($0) }, visitor: visitor) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: contentType, .cacheControl: "no-cache"], body: body)
    }
}
