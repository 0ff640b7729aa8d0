import AsyncHTTPClient
import CairnTestSupport
import Foundation
import NIOCore
import NIOHTTP1

/// A browser's worth of HTTP for page tests: keeps cookies, does not follow redirects, and
/// remembers the CSRF token of the last page it loaded so that `post` can send it.
actor WebSession {
    let base: String
    private(set) var cookies: [String: String] = [:]
    private(set) var csrf = ""

    static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(redirectConfiguration: .disallow))

    init(_ base: String) { self.base = base }

    struct Page: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: String

        var location: String? { headers.first(name: "Location") }
        var csrf: String? {
            guard let range = body.range(of: #"name="csrf" value="([^"]*)""#, options: .regularExpression) else { return nil }
            return String(body[range].dropFirst(#"name="csrf" value=""#.count).dropLast())
        }
    }

    @discardableResult
    func get(_ path: String) async throws -> Page {
        try await send(.GET, path, body: nil)
    }

    /// GET as a browser asks, taking gzip: the page as it came, and its body unzipped by the
    /// system's `gzip -d` (nil when it came plain).
    func getAcceptingGzip(_ path: String) async throws -> (page: Page, unzipped: String?) {
        var bytes: [UInt8] = []
        let page = try await send(.GET, path, body: nil, headers: ["Accept-Encoding": "gzip, deflate, br"]) { bytes = $0 }
        guard page.headers.first(name: "Content-Encoding") == "gzip" else { return (page, nil) }
        let unzipped = try Self.gunzip(bytes)
        return (page, String(decoding: unzipped, as: UTF8.self))
    }

    /// `bytes` unzipped by the system's `gzip -d`, which checks the CRC and length too.
    static func gunzip(_ bytes: [UInt8]) throws -> Data {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-gzip-\(UUID().uuidString).gz")
        try Data(bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-dc", file.path]
        let output = Pipe()
        gzip.standardOutput = output
        try gzip.run()
        let unzipped = output.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        guard gzip.terminationStatus == 0 else { throw TestFailure("gzip -d refused the body: \(gzip.terminationStatus)") }
        return unzipped
    }

    /// Posts `fields` as a form, with the last page's CSRF token unless `csrf` says otherwise.
    @discardableResult
    func post(_ path: String, _ fields: [String: String], csrf override: String? = nil) async throws -> Page {
        var all = fields
        all["csrf"] = override ?? csrf
        let body = all.map { "\(Self.encode($0.key))=\(Self.encode($0.value))" }.joined(separator: "&")
        return try await send(.POST, path, body: ByteBuffer(string: body))
    }

    /// Posts a `multipart/form-data` form with one file, as a browser's upload form does: the
    /// CSRF token first (or after the file, with `csrfLast`), then the file.
    @discardableResult
    func upload(
        _ path: String, filename: String, _ bytes: [UInt8], csrf override: String? = nil, csrfLast: Bool = false, fieldsBefore: [(String, String)] = []
    ) async throws -> Page {
        let boundary = "----CairnTest\(UUID().uuidString)"
        let token = "--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n\(override ?? csrf)\r\n"
        let fileHead = "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        var body = ByteBuffer()
        for (name, value) in fieldsBefore { body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n") }
        if !csrfLast { body.writeString(token) }
        body.writeString(fileHead)
        body.writeBytes(bytes)
        body.writeString("\r\n")
        if csrfLast { body.writeString(token) }
        body.writeString("--\(boundary)--\r\n")
        return try await send(.POST, path, body: body, contentType: "multipart/form-data; boundary=\(boundary)")
    }

    func setCookie(_ name: String, _ value: String) { cookies[name] = value }
    func clearCookies() { cookies = [:] }

    private func send(
        _ method: HTTPMethod, _ path: String, body: ByteBuffer?, contentType: String = "application/x-www-form-urlencoded",
        headers: [String: String] = [:], received: ([UInt8]) -> Void = { _ in }
    ) async throws -> Page {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(body)
        }
        let response = try await Self.client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        received(Array(bytes.readableBytesView))
        let text = String(buffer: bytes)
        for header in response.headers["Set-Cookie"] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            if pair.count == 2 { cookies[String(pair[0])] = String(pair[1]) }
        }
        let page = Page(status: Int(response.status.code), headers: response.headers, body: text)
        if let token = page.csrf { csrf = token }
        return page
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
