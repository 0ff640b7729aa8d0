/// A reply from Redis, copied out of hiredis's memory.
public enum RedisValue: Sendable, Hashable {
    case null
    case integer(Int)
    case status(String)
    case bulk([UInt8])
    case array([RedisValue])

    /// A bulk or status reply as text; nil for anything else.
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    /// A bulk reply's bytes; nil for anything else.
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    /// An integer reply, or a bulk string that holds one.
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulk: string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The elements of an array reply; empty for a null reply.
    public var array: [RedisValue] {
        switch self {
        case .array(let elements): elements
        default: []
        }
    }

    /// A hash reply (`HGETALL`: field, value, field, value…) as text pairs, in order;
    /// pairs that are not text are left out.
    public var fields: [(field: String, value: String)] {
        let elements = array
        return stride(from: 0, to: elements.count - 1, by: 2).compactMap { index in
            guard let field = elements[index].string, let value = elements[index + 1].string else { return nil }
            return (field, value)
        }
    }

    /// True for a nil reply (a missing key, a timed-out blocking pop).
    public var isNull: Bool { self == .null }
}

/// What went wrong talking to Redis; every case names the command.
public enum RedisError: Error, CustomStringConvertible, Equatable {
    /// The server could not be reached.
    case connectFailed(address: String, reason: String)
    /// The connection broke during `command`; the connection was dropped.
    case connectionLost(command: String, reason: String)
    /// Redis answered `command` with an error reply.
    case command(command: String, message: String)
    /// The client is shut down.
    case closed

    public var description: String {
        switch self {
        case .connectFailed(let address, let reason): "cannot connect to Redis at \(address): \(reason)"
        case .connectionLost(let command, let reason): "Redis connection lost during \(command): \(reason)"
        case .command(let command, let message): "Redis \(command) failed: \(message)"
        case .closed: "Redis client is shut down"
        }
    }
}
