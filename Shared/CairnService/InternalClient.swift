public import AsyncHTTPClient
public import CairnProtocol
import Foundation
public import NIOCore
public import NIOHTTP1

/// Makes signed requests to another Cairn daemon: every request carries the internal
/// signature over the whole call (see `InternalSignature`), and the id of the user it is
/// made for.
public struct InternalClient: Sendable {
    /// The daemon this client calls, which its tokens name.
    public let daemon: Daemon
    public let baseURL: String
    public let signature: InternalSignature
    public let http: HTTPClient
    /// Under which store a request's time with this peer is counted (`Server-Timing`).
    public let timing: RequestTimings.Store

    public init(
        _ daemon: Daemon, baseURL: String, signature: InternalSignature, http: HTTPClient = InternalClient.sharedHTTPClient,
        timing: RequestTimings.Store = .repostore
    ) {
        self.daemon = daemon
        self.baseURL = baseURL
        self.signature = signature
        self.http = http
        self.timing = timing
    }

    /// How long a peer may stay silent, reading or writing, before a call gives up on it. A
    /// git stream may run for hours, but git sends keep-alives every few seconds while it works.
    public static let idleTimeout: TimeAmount = .seconds(120)

    /// One process-wide client for calls between daemons: a peer that is down fails at once
    /// (no connection retries until the deadline), with a two-second connect time-out, and
    /// one that goes silent fails after `idleTimeout`.
    public static let sharedHTTPClient = client(
        // A clone through the gateway holds a connection to the store for as long as it lasts:
        // AHC's default of 8 per host would queue the ninth.
        connectionsPerHost: 512, writeTimeout: idleTimeout)

    /// The client of whole git sessions (`cairn-sshd`): each holds a connection for as long as
    /// the SSH session lasts, so many may be open at once; and the caller's input may be quiet
    /// for as long as git sends a pack, so writing has no idle time-out (nor, until the input
    /// ends, has reading: the caller watches a session's bytes both ways itself).
    public static let sessionHTTPClient = client(connectionsPerHost: 4096, writeTimeout: nil)

    private static func client(connectionsPerHost: Int, writeTimeout: TimeAmount?) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
        configuration.timeout.connect = .seconds(2)
        configuration.timeout.read = idleTimeout
        configuration.timeout.write = writeTimeout
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Sends a request; the response body is left for the caller to stream. `timeout` is the
    /// deadline for the whole call, body included: calls that stream large bodies pass their own.
    public func send(
        _ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], body: InternalBody? = nil,
        user: Int64? = nil, timeout: TimeAmount = .seconds(60)
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers = headers
        if let user { request.headers.replaceOrAdd(name: ForwardedHeader.user, value: String(user)) }
        let call = InternalSignature.Call(
            method: method.rawValue, path: path, daemon: daemon, bodyHash: body?.hash ?? InternalSignature.emptyBodyHash,
            user: request.headers.first(name: ForwardedHeader.user) ?? "", visitor: request.headers.first(name: ForwardedHeader.visitor) ?? "",
            rulesHash: InternalSignature.rulesHash(request.headers.first(name: ForwardedHeader.branchRules)))
        request.headers.replaceOrAdd(name: InternalHeader.signature, value: try signature.token(for: call))
        if let body { request.body = body.body }
        do {
            return try await RequestTimings.measure(timing) { try await http.execute(request, timeout: timeout) }
        } catch {
            throw InternalCallError.unreachable(url: baseURL, reason: String(describing: error))
        }
    }

    /// `key=value&…` in key order, each value percent-encoded (ASCII letters, digits and
    /// `-._~/` stay as they are).
    public static func query(_ values: [String: String]) -> String {
        values.sorted { $0.key < $1.key }.map { "\($0.key)=\(percentEncode($0.value))" }.joined(separator: "&")
    }

    /// `text` percent-encoded for a URL path or query value.
    public static func percentEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: urlSafe) ?? text
    }

    private static let urlSafe = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")

    /// GETs `path` and decodes its JSON body as `T`; a 404 is nil, any other failure throws.
    public func getJSON<T: Decodable>(_ type: T.Type, _ path: String, user: Int64? = nil, limit: Int = 32 << 20) async throws -> T? {
        let response = try await send(.GET, path, user: user, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: limit)
        if response.status == .notFound { return nil }
        guard response.status == .ok else {
            throw InternalCallError.refused(url: baseURL + path, status: Int(response.status.code), message: String(buffer: body))
        }
        return try CairnJSON.decode(T.self, from: Data(body.readableBytesView))
    }

    /// POSTs `json` and decodes the JSON answer as `T`; an answer other than 2xx throws
    /// `InternalCallError.refused` with the peer's status and message.
    public func postJSON<T: Decodable>(_ type: T.Type, _ path: String, json: some Encodable & Sendable, user: Int64? = nil, timeout: TimeAmount = .seconds(60)) async throws -> T {
        let body = ByteBuffer(bytes: try CairnJSON.encode(json))
        let response = try await send(.POST, path, headers: ["Content-Type": "application/json"], body: .bytes(body), user: user, timeout: timeout)
        let answer = try await response.body.collect(upTo: 32 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw InternalCallError.refused(url: baseURL + path, status: Int(response.status.code), message: String(buffer: answer))
        }
        return try CairnJSON.decode(T.self, from: Data(answer.readableBytesView))
    }

    /// Sends a request (with `json` encoded as its body, if given) that must succeed (2xx);
    /// throws with the peer's message otherwise.
    public func expectSuccess(_ method: HTTPMethod, _ path: String, json: (any Encodable & Sendable)? = nil, user: Int64? = nil, timeout: TimeAmount = .seconds(30)) async throws {
        var headers: HTTPHeaders = [:]
        var requestBody: InternalBody?
        if let json {
            headers.add(name: "Content-Type", value: "application/json")
            requestBody = .bytes(ByteBuffer(bytes: try CairnJSON.encode(json)))
        }
        let response = try await send(method, path, headers: headers, body: requestBody, user: user, timeout: timeout)
        let body = try await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(response.status.code) else {
            throw InternalCallError.refused(url: baseURL + path, status: Int(response.status.code), message: String(buffer: body))
        }
    }
}

/// The body of an internal request: bytes at hand, which its token names by their hash, or
/// a stream, which it cannot (only routes that take streamed bodies accept those).
public struct InternalBody: Sendable {
    let body: HTTPClientRequest.Body
    let hash: String

    /// A body of `buffer`.
    public static func bytes(_ buffer: ByteBuffer) -> InternalBody {
        InternalBody(body: .bytes(buffer), hash: InternalSignature.bodyHash(of: buffer))
    }

    /// A body read from `sequence` as it is sent.
    public static func stream<Bytes: AsyncSequence & Sendable>(_ sequence: Bytes, length: HTTPClientRequest.Body.Length) -> InternalBody
    where Bytes.Element == ByteBuffer {
        InternalBody(body: .stream(sequence, length: length), hash: InternalSignature.unhashedBody)
    }
}

/// A call to another daemon that did not work.
public enum InternalCallError: Error, CustomStringConvertible {
    case unreachable(url: String, reason: String)
    case refused(url: String, status: Int, message: String)

    public var description: String {
        switch self {
        case .unreachable(let url, let reason): "cannot reach \(url): \(reason)"
        case .refused(let url, let status, let message): "\(url) answered \(status): \(message)"
        }
    }

    /// What a refusing peer said: the `message` of its JSON error body, else the body itself.
    public static func reason(_ body: String) -> String {
        (try? CairnJSON.decode([String: String].self, from: Data(body.utf8)))?["message"] ?? body
    }
}
