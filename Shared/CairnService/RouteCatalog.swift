import Synchronization

/// The routes a daemon registered, as `(method, path template)`, read from its router when
/// the application is built: the fuzz test sends hostile input to every one of them, so a
/// route added later is covered without anyone listing it.
public final class RouteCatalog: Sendable {
    public struct Route: Sendable, Hashable, CustomStringConvertible {
        public let method: String
        /// The template, e.g. `/:owner/:repo/commits/**`.
        public let path: String
        public var description: String { "\(method) \(path)" }
    }

    private let routes = Mutex<[Route]>([])

    public init() {}

    /// Every route recorded so far.
    public var all: [Route] { routes.withLock { $0 } }

    func record(_ found: [Route]) {
        routes.withLock { $0 = found }
    }
}
