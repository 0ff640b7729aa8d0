import CairnProtocol
import Foundation

/// Configuration values by dotted key (`redis.url`), read from a JSON file and then the
/// environment (`CAIRN_REDIS_URL`), the environment winning.
///
/// Written here rather than on swift-configuration: its readers fall back to the default
/// silently when a value does not convert, and Cairn must refuse to start instead, naming
/// the bad key. Unknown keys in the file are refused too, so a typo never goes unnoticed.
public struct ConfigSource: Sendable {
    /// Where each value came from, for error messages.
    public enum Origin: Sendable, Equatable {
        case file(String), environment(String), defaults
    }

    private var values: [String: (value: String, origin: Origin)] = [:]

    /// The values of `file` (if given) overlaid with `CAIRN_*` variables from `environment`.
    /// Only keys in `known` are accepted from the file.
    public init(file: String?, environment: [String: String], known: Set<String>) throws(ConfigError) {
        if let file {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw ConfigError(key: "(file)", origin: .file(file), problem: "cannot read the configuration file: \(error.localizedDescription)")
            }
            let root: [String: JSONValue]
            do { root = try JSONDecoder().decode([String: JSONValue].self, from: data) } catch {
                throw ConfigError(key: "(file)", origin: .file(file), problem: "not a JSON object: \(error)")
            }
            try Self.flatten(root, prefix: "", file: file, known: known, into: &values)
        }
        for key in known {
            let name = Self.environmentName(of: key)
            if let value = environment[name] { values[key] = (value, .environment(name)) }
        }
    }

    /// `CAIRN_` and the key in upper snake case: `redis.poolSize` → `CAIRN_REDIS_POOL_SIZE`.
    public static func environmentName(of key: String) -> String {
        var name = "CAIRN_"
        var previousLower = false
        for character in key {
            if character == "." { name += "_"; previousLower = false; continue }
            if character.isUppercase && previousLower { name += "_" }
            name += character.uppercased()
            previousLower = character.isLowercase || character.isNumber
        }
        return name
    }

    /// The raw text of `key`, if set anywhere.
    public func raw(_ key: String) -> (value: String, origin: Origin)? { values[key] }

    private static func flatten(_ object: [String: JSONValue], prefix: String, file: String, known: Set<String>, into values: inout [String: (value: String, origin: Origin)]) throws(ConfigError) {
        for (name, value) in object {
            let key = prefix.isEmpty ? name : "\(prefix).\(name)"
            if case .object(let nested) = value {
                try flatten(nested, prefix: key, file: file, known: known, into: &values)
                continue
            }
            guard known.contains(key) else {
                throw ConfigError(key: key, origin: .file(file), problem: "unknown configuration key")
            }
            values[key] = (text(of: value), .file(file))
        }
    }

    private static func text(of value: JSONValue) -> String {
        switch value {
        case .string(let string): string
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .array(let items): items.map(text(of:)).joined(separator: ",")
        case .null, .object: ""
        }
    }
}

/// A configuration value that cannot be used; the message names the key and where it came from.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let origin: ConfigSource.Origin
    public let problem: String

    public init(key: String, origin: ConfigSource.Origin, problem: String) {
        self.key = key
        self.origin = origin
        self.problem = problem
    }

    public var description: String {
        let place = switch origin {
        case .file(let path): "in \(path)"
        case .environment(let name): "from the environment variable \(name)"
        case .defaults: "by default"
        }
        return "configuration key `\(key)` (set \(place)): \(problem)"
    }
}
