import Mustache

/// A view's fields as a table, for Mustache to read by name.
///
/// swift-mustache finds a name by reflecting (`Mirror`) on each object of its context stack
/// in turn, for every lookup — over half of a page's rendering time went there. Turning a
/// view into tables once, before rendering, makes every lookup a dictionary read; what the
/// templates see is unchanged: nil optionals are absent, arrays stay arrays, text, numbers
/// and booleans stay what they are.
struct MustacheFields: MustacheParent {
    let fields: [String: Any]

    func child(named name: String) -> Any? { fields[name] }

    /// `value` with every struct or class in it turned into `MustacheFields`.
    static func prepare(_ value: Any) -> Any {
        switch value {
        case is String, is Substring, is Bool, is Int, is Int64, is Double, is MustacheFields: return value
        default: break
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .struct, .class:
            var fields: [String: Any] = [:]
            fields.reserveCapacity(Int(mirror.children.count))
            for child in mirror.children {
                guard let label = child.label, let field = unwrap(child.value) else { continue }
                fields[label] = prepare(field)
            }
            return MustacheFields(fields: fields)
        case .collection:
            return mirror.children.map { child in unwrap(child.value).map(prepare) as Any }
        case .dictionary:
            guard let dictionary = value as? [String: Any] else { return value }
            return dictionary.compactMapValues { unwrap($0).map(prepare) }
        default:
            return value
        }
    }

    /// The value an optional holds, nil for an empty one, anything else as it is.
    private static func unwrap(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first.map(\.value)
    }
}
