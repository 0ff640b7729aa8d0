import CHiredis
import Glibc

/// One hiredis connection. Blocking: only ever used from a thread-pool thread, and by one
/// caller at a time (the pool hands it out exclusively), hence `@unchecked Sendable`.
///
/// Hand-written because no maintained Swift Redis client is among this machine's packages;
/// hiredis does the protocol, this wraps it.
final class RedisConnection: @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>

    init(host: String, port: Int, timeout: Duration) throws(RedisError) {
        let address = "\(host):\(port)"
        guard let context = redisConnectWithTimeout(host, Int32(port), Self.timeval(timeout)) else {
            throw .connectFailed(address: address, reason: "out of memory")
        }
        if context.pointee.err != 0 {
            let reason = Self.errorString(context)
            redisFree(context)
            throw .connectFailed(address: address, reason: reason)
        }
        redisSetTimeout(context, Self.timeval(timeout))
        self.context = context
    }

    deinit { redisFree(context) }

    /// Sends one command (binary-safe) and waits for its reply.
    func send(_ arguments: [[UInt8]]) throws(RedisError) -> RedisValue {
        let name = arguments.first.map { String(decoding: $0, as: UTF8.self).uppercased() } ?? "?"
        let lengths = arguments.map(\.count)
        var flat = [UInt8]()
        flat.reserveCapacity(lengths.reduce(1, +))
        for argument in arguments { flat += argument }
        flat.append(0)  // never an empty buffer, so the base address is never nil
        let reply: UnsafeMutableRawPointer? = flat.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var offset = 0
            var argv: [UnsafePointer<CChar>?] = lengths.map { length in
                defer { offset += length }
                return base + offset
            }
            return redisCommandArgv(context, Int32(arguments.count), &argv, lengths)
        }
        guard let reply else {
            throw .connectionLost(command: name, reason: Self.errorString(context))
        }
        defer { freeReplyObject(reply) }
        let value = Self.copy(reply.assumingMemoryBound(to: redisReply.self))
        if case .error(let message) = value { throw .command(command: name, message: message) }
        guard case .value(let result) = value else { fatalError("unreachable") }
        return result
    }

    /// Sets how long a read may wait, for blocking commands.
    func setTimeout(_ timeout: Duration) {
        redisSetTimeout(context, Self.timeval(timeout))
    }

    private enum Copied { case value(RedisValue), error(String) }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> Copied {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            return .value(.bulk(r.str.map { Array(UnsafeRawBufferPointer(start: $0, count: r.len)) } ?? []))
        case REDIS_REPLY_STATUS:
            return .value(.status(r.str.map { String(cString: $0) } ?? ""))
        case REDIS_REPLY_ERROR:
            return .error(r.str.map { String(cString: $0) } ?? "unknown error")
        case REDIS_REPLY_INTEGER:
            return .value(.integer(Int(r.integer)))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                guard let element = r.element[index] else { elements.append(.null); continue }
                switch copy(element) {
                case .value(let value): elements.append(value)
                case .error(let message): elements.append(.status("ERR " + message))
                }
            }
            return .value(.array(elements))
        default:
            return .value(.null)
        }
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: &context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "connection closed" : String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
