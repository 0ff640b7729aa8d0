import AsyncHTTPClient
import CairnProtocol
import CairnService
import CairnSigning
import CairnModel
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Every route each daemon registers, taken from its router, gets hostile path and query
/// values and hostile bodies, as an anonymous visitor, a signed-in user and a token (the
/// internal daemons with valid signatures). Nothing may answer 500 or drop the connection,
/// and the daemons, which run in this process, must still be up at the end.
@Suite(.timeLimit(.minutes(8))) struct FuzzTests {
    /// Values that have stopped daemons or confused parsers somewhere.
    static let hostileValues = [
        "9223372036854775807", "-9223372036854775808", "99999999999999999999999999", "-1", "0", "abc", "1e9", "0x10", "%201",
        "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%2F", "%00", "a%00b", "%E2%80%AE%F0%9F%92%A9", "%C3%BC%E6%97%A5", "%ff%fe",
        String(repeating: "a", count: 10_000), "--upload-pack=touch%20x", "HEAD%40%7B-1%7D", "%5C..%5C",
    ]

    /// The query parameters any route reads.
    static let queryNames = [
        "page", "per_page", "cursor", "ref", "sha", "path", "limit", "skip", "after", "before", "since", "per", "recursive", "plain",
        "sort", "service", "branch", "next", "token", "expires", "name",
    ]

    /// Bodies that are not what a route wants: (content type, bytes).
    static let hostileBodies: [(String, ByteBuffer)] = [
        ("application/json", ByteBuffer(string: #"{"name": "trunc"#)),
        ("application/json", ByteBuffer(string: "not json at all")),
        ("application/json", ByteBuffer(string: #"{"name": 123456789012345678901234567890, "private": "yes", "page": -1, "events": {"a": null}, "config": []}"#)),
        ("application/json", ByteBuffer(string: "[" + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_001))),
        ("application/x-www-form-urlencoded", ByteBuffer(string: "csrf=x&name=%00&page=-1&per_page=99999999999999999999&login=&password=%ff")),
        ("multipart/form-data", ByteBuffer(string: "--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ntruncated")),
        ("text/plain", ByteBuffer(repeating: UInt8(ascii: "a"), count: 3 << 20)),
        ("application/x-git-receive-pack-request", ByteBuffer(string: "0032want 0000000000000000000000000000000000000000\n00")),
    ]

    @Test func test_noGatewayRouteAnswers500OrFallsOverOnHostileInput() async throws {
        try await CairnStack.with { stack in
            let (ada, _, sha) = try await Self.pushedRepository(stack)
            let web = try await WebPagesTests.signIn(stack, ada)
            let cookie = await web.cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
            // The signed-in user's forms carry a valid CSRF token, so their handlers see the hostile fields.
            try await web.get("/settings")
            let csrf = await web.csrf

            let routes = try #require(stack.routes[.gateway]?.all)
            #expect(routes.count > 80, "the router lists \(routes.count) routes")
            let valid = ["owner": "ada", "user": "ada", "username": "ada", "repo": "fuzz", "sha": sha, "ref": "main", "branch": "main"]
            let callers: [(String, [(String, String)], String)] = [
                ("anonymous", [], "x"), ("token", [("Authorization", "token \(ada.token)")], "x"), ("session", [("Cookie", cookie)], csrf),
            ]
            var requests: [FuzzRequest] = []
            for caller in callers {
                requests += Self.requests(for: routes, valid: valid, defaultCapture: "1", headers: caller.1, caller: caller.0, csrf: caller.2)
            }
            let failures = try await Self.send(requests) { request in
                var outgoing = HTTPClientRequest(url: stack.gatewayURL + request.path)
                outgoing.method = request.method
                for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
                if let (type, body) = request.body {
                    outgoing.headers.add(name: "Content-Type", value: type)
                    outgoing.body = .bytes(body)
                }
                return try await WebSession.client.execute(outgoing, timeout: .seconds(60))
            }
            #expect(failures.isEmpty, "\(failures.count) of \(requests.count) requests failed:\n\(failures.prefix(40).joined(separator: "\n"))")
            let health = try await HTTPClient.shared.execute(HTTPClientRequest(url: stack.gatewayURL + "/healthz"), timeout: .seconds(10))
            #expect(health.status == .ok)
        }
    }

    @Test func test_noInternalRouteAnswers500OnHostileInputWithAValidSignature() async throws {
        try await CairnStack.with { stack in
            let (_, repository, _) = try await Self.pushedRepository(stack)
            let signature = InternalSignature(signer: try Signer(key: stack.configuration.signingKey))
            for daemon in [Daemon.repostore, .blobstore] {
                let routes = try #require(stack.routes[daemon]?.all)
                #expect(routes.count > 5, "\(daemon) lists \(routes.count) routes")
                let client = InternalClient(daemon, baseURL: stack.configuration.listener(daemon).url, signature: signature)
                let requests = Self.requests(for: routes, valid: [:], defaultCapture: String(repository.id), headers: [], caller: daemon.rawValue)
                let failures = try await Self.send(requests) { request in
                    var headers = HTTPHeaders()
                    var body: InternalBody?
                    if let (type, bytes) = request.body {
                        headers.add(name: "Content-Type", value: type)
                        body = .bytes(bytes)
                    }
                    return try await client.send(request.method, request.path, headers: headers, body: body, timeout: .seconds(60))
                }
                #expect(failures.isEmpty, "\(daemon): \(failures.count) of \(requests.count) requests failed:\n\(failures.prefix(40).joined(separator: "\n"))")
            }
        }
    }

    /// A user `ada` and her repository `fuzz` with two commits pushed; the head commit.
    static func pushedRepository(_ stack: CairnStack) async throws -> (TestUser, Repository, String) {
        let ada = try await stack.makeUser("ada")
        let repository = try await stack.makeRepository(ada, "fuzz")
        let work = try await stack.makeWorkingCopy("fuzz", commits: 2)
        try await stack.git(["push", "--quiet", stack.cloneURL(repository.fullName, credentials: ada.tokenCredentials), "main"], in: work)
        let sha = try await stack.git(["rev-parse", "HEAD"], in: work).output.trimmingCharacters(in: .whitespacesAndNewlines)
        return (ada, repository, sha)
    }

    /// For each route: each capture in turn set to each hostile value (the others valid), every
    /// query parameter set to each hostile value, and each hostile body.
    static func requests(
        for routes: [RouteCatalog.Route], valid: [String: String], defaultCapture: String, headers: [(String, String)], caller: String, csrf: String = "x"
    ) -> [FuzzRequest] {
        var requests: [FuzzRequest] = []
        // Routes that end a session or remove something come last, so the others still find it.
        func last(_ route: RouteCatalog.Route) -> Int { route.method == "DELETE" || route.path.contains("logout") || route.path.contains("delete") ? 1 : 0 }
        for route in routes.sorted(by: { (last($0), $0.path) < (last($1), $1.path) }) {
            let method = HTTPMethod(rawValue: route.method)
            let components = route.path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            func filled(_ position: Int?, with value: String?) -> String {
                components.enumerated().map { index, component in
                    guard component.hasPrefix(":") || component.contains("*") || component.contains("{") else { return component }
                    if index == position, let value { return value }
                    if component.contains("*") { return "README.md" }
                    let name = component.drop { $0 == ":" || $0 == "{" || $0 == "$" }.prefix { $0.isLetter || $0 == "_" }
                    return valid[String(name)] ?? defaultCapture
                }.joined(separator: "/")
            }
            let captures = components.indices.filter { components[$0].hasPrefix(":") || components[$0].contains("*") || components[$0].contains("{") }
            let base = filled(nil, with: nil)
            func add(_ path: String, _ body: (String, ByteBuffer)? = nil, _ what: String) {
                requests.append(FuzzRequest(method: method, path: path, headers: headers, body: body, label: "\(caller) \(route) \(what)"))
            }
            for position in captures {
                for value in hostileValues { add(filled(position, with: value), nil, "capture \(position) = \(value.prefix(40))") }
            }
            for value in hostileValues {
                add(base + "?" + queryNames.map { "\($0)=\(value)" }.joined(separator: "&"), nil, "query = \(value.prefix(40))")
            }
            if [.POST, .PUT, .PATCH, .DELETE].contains(method) {
                for (type, bytes) in hostileBodies {
                    let body = type == "application/x-www-form-urlencoded" ? ByteBuffer(string: String(buffer: bytes).replacingOccurrences(of: "csrf=x", with: "csrf=\(csrf)")) : bytes
                    add(base, (type, body), "body \(type) \(body.readableBytes) bytes")
                }
            }
        }
        return requests
    }

    /// Sends `requests`, eight at a time; returns a line for each that answered 500 or whose
    /// connection failed.
    static func send(_ requests: [FuzzRequest], _ execute: @escaping @Sendable (FuzzRequest) async throws -> HTTPClientResponse) async throws -> [String] {
        @Sendable func answer(_ request: FuzzRequest) async throws -> (UInt, String) {
            let response = try await execute(request)
            return (response.status.code, String(buffer: try await response.body.collect(upTo: 64 << 20)))
        }
        return try await withThrowingTaskGroup(of: String?.self) { group in
            var failures: [String] = []
            var next = requests.makeIterator()
            func start() {
                guard let request = next.next() else { return }
                group.addTask {
                    do {
                        var (status, body) = try await answer(request)
                        // A 503 with Retry-After says a store did not answer in time, which a
                        // loaded two-core CI machine can cause; the same input failing twice is ours.
                        if status == 503 {
                            try await Task.sleep(for: .seconds(2))
                            (status, body) = try await answer(request)
                        }
                        return status >= 500 ? "\(request.label) → \(status) \(Self.message(in: body))" : nil
                    } catch {
                        return "\(request.label) → \(error)"
                    }
                }
            }
            for _ in 0..<8 { start() }
            while let result = try await group.next() {
                if let result { failures.append(result) }
                start()
            }
            return failures
        }
    }
}

extension FuzzTests {
    /// What an error answer says: the JSON message, or an error page's text after its head.
    static func message(in body: String) -> Substring {
        let text = body.range(of: "</head>").map { body[$0.upperBound...] } ?? body[...]
        return text.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
            .split(whereSeparator: \.isWhitespace).joined(separator: " ").prefix(300)
    }
}

struct FuzzRequest: Sendable {
    let method: HTTPMethod
    let path: String
    let headers: [(String, String)]
    let body: (String, ByteBuffer)?
    let label: String
}
