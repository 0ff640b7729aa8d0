import CairnProtocol
import CairnRedis
import Foundation

/// What one batch of events adds to the traffic aggregates, gathered in memory before it is
/// written in one transaction. Events that cannot be counted become dead letters here.
struct TrafficFold {
    enum Span: Int16 { case hour = 1, day = 2 }
    enum Measure: Int16 { case views = 1, clones = 2, pathViews = 3 }

    /// A row of `traffic`: a repository (0 for the whole site), a span and the bucket's start (epoch seconds).
    struct Bucket: Hashable, Comparable {
        let repository: Int64
        let span: Span
        let start: Int64
        static func < (a: Bucket, b: Bucket) -> Bool {
            (a.repository, a.span.rawValue, a.start) < (b.repository, b.span.rawValue, b.start)
        }
    }

    struct Counts {
        var views: Int64 = 0, visitors: Int64 = 0, clones: Int64 = 0, cloners: Int64 = 0
        var pushes: Int64 = 0, commits: Int64 = 0, downloads: Int64 = 0
    }

    /// A row of `path_traffic`.
    struct PathDay: Hashable, Comparable {
        let repository: Int64
        let day: Int64
        let path: String
        static func < (a: PathDay, b: PathDay) -> Bool { (a.repository, a.day, a.path) < (b.repository, b.day, b.path) }
    }

    struct PathCounts {
        var title = ""
        var views: Int64 = 0
        var visitors: Int64 = 0
    }

    /// One visitor seen in a bucket for a measure (and a path, for path views).
    struct Sighting: Hashable, Comparable {
        let bucket: Bucket
        let measure: Measure
        let path: String
        let visitor: Int64
        static func < (a: Sighting, b: Sighting) -> Bool {
            if a.bucket != b.bucket { return a.bucket < b.bucket }
            return (a.measure.rawValue, a.path, a.visitor) < (b.measure.rawValue, b.path, b.visitor)
        }
    }

    static let maxPathLength = 512
    static let maxTitleLength = 256

    private(set) var counts: [Bucket: Counts] = [:]
    private(set) var paths: [PathDay: PathCounts] = [:]
    private(set) var sightings: Set<Sighting> = []
    private(set) var deadLetters: [DeadEvent] = []
    /// When the oldest counted event happened.
    private(set) var oldest: Date?
    private(set) var counted = 0

    /// Folds every event of a batch.
    init(_ events: [[UInt8]]) {
        let decoder = CairnJSON.decoder()
        for raw in events { add(raw, decoder: decoder) }
    }

    private mutating func add(_ raw: [UInt8], decoder: JSONDecoder) {
        let event: EventEnvelope
        do {
            event = try decoder.decode(EventEnvelope.self, from: Data(raw))
        } catch {
            return deadLetters.append(DeadEvent(reason: "not an event envelope: \(Self.describe(error))", event: raw))
        }
        if let reason = count(event) { deadLetters.append(DeadEvent(reason: reason, event: raw)) }
    }

    /// Counts `event`; a reason when it cannot be counted.
    private mutating func count(_ event: EventEnvelope) -> String? {
        guard event.v == EventEnvelope.currentVersion else { return "unsupported envelope version \(event.v)" }
        guard let repository = event.repoID, repository > 0 else { return "\(event.type) needs a positive repo_id" }
        var visitor: Int64?
        if let text = event.visitor {
            guard let parsed = Self.visitorNumber(text) else { return "visitor must be 1 to 16 hexadecimal digits, got \"\(text.prefix(40))\"" }
            visitor = parsed
        }
        let seconds = Int64(event.at.timeIntervalSince1970.rounded(.down))
        let hour = Bucket(repository: repository, span: .hour, start: seconds - Self.modulo(seconds, 3600))
        let day = Bucket(repository: repository, span: .day, start: seconds - Self.modulo(seconds, 86_400))
        let site = Bucket(repository: 0, span: .day, start: day.start)
        let buckets = [hour, day, site]
        switch event.type {
        case "repo.view":
            var path: String?
            if case .string(let text)? = event.data["path"], !text.isEmpty {
                guard text.utf8.count <= Self.maxPathLength, !text.contains("\0") else { return "data.path must be at most \(Self.maxPathLength) bytes without NUL" }
                path = text
            }
            for bucket in buckets {
                counts[bucket, default: Counts()].views += 1
                if let visitor { sightings.insert(Sighting(bucket: bucket, measure: .views, path: "", visitor: visitor)) }
            }
            if let path {
                let key = PathDay(repository: repository, day: day.start, path: path)
                paths[key, default: PathCounts()].views += 1
                if case .string(let title)? = event.data["title"] { paths[key]!.title = String(title.prefix(Self.maxTitleLength)) }
                if let visitor { sightings.insert(Sighting(bucket: day, measure: .pathViews, path: path, visitor: visitor)) }
            }
        case "repo.clone":
            for bucket in buckets {
                counts[bucket, default: Counts()].clones += 1
                if let visitor { sightings.insert(Sighting(bucket: bucket, measure: .clones, path: "", visitor: visitor)) }
            }
        case "repo.push":
            var commits: Int64 = 0
            if let value = event.data["commits"] {
                guard case .number(let number) = value, number >= 0, number < 1e12 else { return "data.commits must be a count" }
                commits = Int64(number)
            }
            for bucket in buckets {
                counts[bucket, default: Counts()].pushes += 1
                counts[bucket]!.commits += commits
            }
        case "repo.download":
            for bucket in buckets { counts[bucket, default: Counts()].downloads += 1 }
        default:
            return "unknown event type \"\(event.type.prefix(64))\""
        }
        counted += 1
        if oldest.map({ event.at < $0 }) ?? true { oldest = event.at }
        return nil
    }

    /// Adds the visitors that the database had not seen in their buckets before.
    mutating func addNewVisitors(_ sighting: Sighting, count: Int64) {
        switch sighting.measure {
        case .views: counts[sighting.bucket, default: Counts()].visitors += count
        case .clones: counts[sighting.bucket, default: Counts()].cloners += count
        case .pathViews: paths[PathDay(repository: sighting.bucket.repository, day: sighting.bucket.start, path: sighting.path), default: PathCounts()].visitors += count
        }
    }

    /// A visitor id as a number: its first 16 hexadecimal digits.
    static func visitorNumber(_ text: String) -> Int64? {
        guard (1...64).contains(text.utf8.count), text.allSatisfy(\.isHexDigit), let value = UInt64(text.prefix(16), radix: 16) else { return nil }
        return Int64(bitPattern: value)
    }

    private static func modulo(_ value: Int64, _ divisor: Int64) -> Int64 {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context): context.debugDescription
        default: "\(error)"
        }
    }
}
