import Crypto
import Foundation
import Hummingbird
import NIOCore

/// A webhook receiver on loopback for the tests, answering by path:
/// `/ok` 200; `/flaky/<n>` 500 for the first n requests then 200; `/redirect` 302 to
/// `/landed`; `/slow` answers after 5 s; `/hold/<s>` after s seconds; `/big` answers 1 MiB.
/// It records every request.
public actor HookReceiver {
    public struct Received: Sendable {
        public let path: String
        public let headers: [String: String]
        public let body: [UInt8]

        public var event: String? { headers["x-github-event"] }
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }

        /// Whether `X-Hub-Signature-256` is the HMAC-SHA256 of the body under `secret`,
        /// checked as a receiver written for GitHub checks it.
        public func signatureMatches(secret: String) -> Bool {
            let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
            return headers["x-hub-signature-256"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
        }
    }

    public private(set) var received: [Received] = []
    private var counts: [String: Int] = [:]

    func record(_ request: Received) -> Int {
        received.append(request)
        counts[request.path, default: 0] += 1
        return counts[request.path]!
    }

    /// Requests to `path` (all of them when nil) carrying event `event` (any when nil).
    public func requests(path: String? = nil, event: String? = nil) -> [Received] {
        received.filter { (path == nil || $0.path == path) && (event == nil || $0.event == event) }
    }

    /// Runs `body` with a receiver listening on 127.0.0.1; its base URL is `http://127.0.0.1:<port>`.
    public static func with<T: Sendable>(_ body: @escaping @Sendable (HookReceiver, String) async throws -> T) async throws -> T {
        let receiver = HookReceiver()
        let router = Router()
        router.post("**") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let path = request.uri.path
            let seen = await receiver.record(Received(path: path, headers: headers, body: Array(bytes.readableBytesView)))
            let parts = path.split(separator: "/")
            switch parts.first {
            case "flaky": return Response(status: seen <= Int(parts.last ?? "0") ?? 0 ? .internalServerError : .ok)
            case "redirect": return Response(status: .found, headers: [.location: "/landed"])
            case "slow":
                try await Task.sleep(for: .seconds(5))
                return Response(status: .ok)
            case "big": return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "x"), count: 1 << 20)))
            case "hold":
                try await Task.sleep(for: .seconds(Int(parts.last ?? "1") ?? 1))
                return Response(status: .ok)
            default: return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "thanks")))
            }
        }
        router.get("/ready") { _, _ in Response(status: .ok) }
        // On a port the system chooses, so that no other test can take it first.
        let port = Box<Int?>(nil)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.value = channel.localAddress?.port })
        // Stopped with a deadline: a delivery cut short when its worker stopped must not
        // hold the receiver's graceful shutdown, and the whole run with it.
        return try await runBounded(app, name: "the hook receiver", logger: app.logger, grace: .seconds(2), ready: {
            guard let port = port.value else { return false }
            return await answers("http://127.0.0.1:\(port)/ready")
        }) {
            try await body(receiver, "http://127.0.0.1:\(port.value ?? 0)")
        }
    }
}
