import AsyncHTTPClient
import CairnProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The only way Cairn talks to the outside world: a POST that cannot be turned against the
/// inside.
///
/// It resolves the host itself, refuses the request if any address the name has is internal
/// (`OutboundAddressPolicy`), then connects to the address it checked — AsyncHTTPClient's
/// `dnsOverride` pins the connection to it while TLS still verifies the host name — so a
/// second lookup cannot swap in another address. It follows no redirect, gives up after the
/// connect and total time-outs, and reads at most `maximumResponseBytes` of the reply.
///
/// AsyncHTTPClient cannot check addresses itself, so this wrapper is Cairn's own; it keeps
/// one pooled client per checked (host, address) pair so that keep-alive still works.
public final class OutboundClient: Sendable {
    public let policy: OutboundAddressPolicy
    public let connectTimeout: Duration
    public let timeout: Duration
    public let maximumResponseBytes: Int
    /// The pooled clients by `host|address`, and their keys oldest first.
    private let pool = Mutex<(clients: [String: HTTPClient], order: [String])>(([:], []))
    private static let maximumClients = 128

    public init(policy: OutboundAddressPolicy, connectTimeout: Duration = .seconds(5), timeout: Duration = .seconds(10), maximumResponseBytes: Int = 64 << 10) {
        self.policy = policy
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// Posts `body` to `url`. Never throws: refusals, time-outs and errors come back in the result.
    public func post(_ url: String, headers: [(String, String)], body: [UInt8]) async -> OutboundResult {
        let started = ContinuousClock.now
        func finish(status: Int? = nil, headers: [String: String] = [:], body: String? = nil, error: String? = nil) -> OutboundResult {
            OutboundResult(statusCode: status, headers: headers, body: body, error: error, duration: ContinuousClock.now - started)
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let rawHost = components.host, !rawHost.isEmpty else {
            return finish(error: "refused: \(url) is not an http or https URL")
        }
        let host = rawHost.hasPrefix("[") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let address: IPAddress
        do {
            address = try await checkedAddress(host)
        } catch {
            return finish(error: "\(error)")
        }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        if let refusal = policy.refusal(forPort: port, at: address) { return finish(error: "refused: \(refusal)") }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let client = client(host: host, address: address)
            let limit = maximumResponseBytes
            let deadline = TimeAmount.milliseconds(Int64(timeout.wholeMilliseconds))
            let prepared = request
            let (status, responseHeaders, received) = try await withTimeout(timeout) {
                let response = try await client.execute(prepared, timeout: deadline)
                var received: [UInt8] = []
                for try await chunk in response.body {
                    received += chunk.readableBytesView.prefix(limit - received.count)
                    if received.count >= limit { break }  // the rest is not read; the connection closes
                }
                var headers: [String: String] = [:]
                for header in response.headers { headers[header.name] = headers[header.name].map { "\($0), \(header.value)" } ?? header.value }
                return (Int(response.status.code), headers, received)
            }
            return finish(status: status, headers: responseHeaders, body: String(decoding: received, as: UTF8.self))
        } catch let error as HTTPClientError where error == .connectTimeout {
            return finish(error: "could not connect to \(address) within \(connectTimeout)")
        } catch is OutboundTimeout {
            return finish(error: "no complete answer within \(timeout)")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return finish(error: "no complete answer within \(timeout)")
        } catch {
            return finish(error: "request failed: \(error)")
        }
    }

    /// Shuts the pooled clients down.
    public func shutdown() async {
        let all = pool.withLock { pool in
            defer { pool = ([:], []) }
            return Array(pool.clients.values)
        }
        for client in all { try? await client.shutdown() }
    }

    /// The address to connect to for `host`: the literal itself, or the first address the
    /// name resolves to — provided that none of its addresses is refused.
    func checkedAddress(_ host: String) async throws -> IPAddress {
        if let literal = IPAddress(host) {
            if let refusal = policy.refusal(for: literal) { throw OutboundRefusal(description: "refused: \(literal) is \(refusal)") }
            return literal
        }
        let addresses = try await Self.resolve(host)
        guard let first = addresses.first else { throw OutboundRefusal(description: "\(host) has no address") }
        for address in addresses {
            if let refusal = policy.refusal(for: address) { throw OutboundRefusal(description: "refused: \(host) resolves to \(address), \(refusal)") }
        }
        return first
    }

    /// Looks `host` up with the system resolver, off the cooperative threads.
    static func resolve(_ host: String) async throws -> [IPAddress] {
        try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, nil, &hints, &list)
            guard status == 0, let list else {
                throw OutboundRefusal(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
            }
            defer { freeaddrinfo(list) }
            var addresses: [IPAddress] = []
            var entry: UnsafeMutablePointer<addrinfo>? = list
            while let current = entry {
                if let socket = current.pointee.ai_addr {
                    if current.pointee.ai_family == AF_INET {
                        let bytes = socket.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) } }
                        addresses.append(IPAddress(bytes: bytes))
                    } else if current.pointee.ai_family == AF_INET6 {
                        let bytes = socket.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) } }
                        addresses.append(IPAddress(bytes: bytes))
                    }
                }
                entry = current.pointee.ai_next
            }
            var seen = Set<IPAddress>()
            return addresses.filter { seen.insert($0).inserted }
        }
    }

    /// The pooled client pinned to `address` for `host`, made on first use; the oldest is
    /// shut down when there are too many.
    private func client(host: String, address: IPAddress) -> HTTPClient {
        let key = "\(host)|\(address)"
        let (client, evicted): (HTTPClient, HTTPClient?) = pool.withLock { pool in
            if let existing = pool.clients[key] { return (existing, nil) }
            var configuration = HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: .milliseconds(Int64(connectTimeout.wholeMilliseconds)), read: .milliseconds(Int64(timeout.wholeMilliseconds))))
            configuration.dnsOverride = [host: address.description]
            configuration.connectionPool = .init(idleTimeout: .seconds(30))
            configuration.httpVersion = .http1Only
            let made = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            pool.clients[key] = made
            pool.order.append(key)
            var evicted: HTTPClient?
            if pool.order.count > Self.maximumClients { evicted = pool.clients.removeValue(forKey: pool.order.removeFirst()) }
            return (made, evicted)
        }
        if let evicted { Task { try? await evicted.shutdown() } }
        return client
    }

    private func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw OutboundTimeout()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

/// What one outbound request brought back: the answer, or why there was none.
public struct OutboundResult: Sendable {
    public var statusCode: Int?
    public var headers: [String: String]
    /// The first bytes of the reply body.
    public var body: String?
    public var error: String?
    public var duration: Duration
}

/// The guard refused the address, or the name did not resolve.
struct OutboundRefusal: Error, CustomStringConvertible {
    let description: String
}

struct OutboundTimeout: Error {}
