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
        var pullsOpened: Int64 = 0, pullsMerged: Int64 = 0
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

    /// What a set of unique visitors is kept for: a bucket, a measure and, for path views, the path.
    struct Scope: Hashable {
        let bucket: Bucket
        let measure: Measure
        let path: String

        /// A stable 64-bit digest, the same in every process, naming the scope's visitor set
        /// (see `VisitorSets`).
        var key: Int64 {
            var hash = Digest()
            hash.add(UInt64(bitPattern: bucket.repository))
            hash.add(UInt64(UInt16(bitPattern: bucket.span.rawValue)) << 16 | UInt64(UInt16(bitPattern: measure.rawValue)))
            hash.add(UInt64(bitPattern: bucket.start))
            for byte in path.utf8 { hash.add(UInt64(byte)) }
            return Int64(bitPattern: hash.value)
        }
    }

    /// One visitor seen in a scope.
    struct Sighting: Hashable, Comparable {
        let scope: Int64
        let visitor: Int64
        static func < (a: Sighting, b: Sighting) -> Bool { (a.scope, a.visitor) < (b.scope, b.visitor) }
    }

    /// Bytes of a path and a title kept (longer ones are cut).
    static let maxPathLength = 512
    static let maxTitleLength = 256

    private(set) var counts: [Bucket: Counts] = [:]
    private(set) var paths: [PathDay: PathCounts] = [:]
    private(set) var sightings: Set<Sighting> = []
    /// The scopes of `sightings`, by key.
    private(set) var scopes: [Int64: Scope] = [:]
    private(set) var deadLetters: [DeadEvent] = []
    /// When the oldest counted event happened.
    private(set) var oldest: Date?
    private(set) var counted = 0

    /// Folds every event of a batch.
    init(_ events: [[UInt8]]) {
        sightings.reserveCapacity(events.count * 4)
        counts.reserveCapacity(events.count)
        for raw in events { add(raw) }
    }

    private mutating func add(_ raw: [UInt8]) {
        let event: StreamEvent
        do {
            event = try EnvelopeReader.read(raw)
        } catch {
            return deadLetters.append(DeadEvent(reason: "not an event envelope: \(error)", event: raw))
        }
        if let reason = count(event) { deadLetters.append(DeadEvent(reason: reason, event: raw)) }
    }

    /// Counts `event`; a reason when it cannot be counted.
    private mutating func count(_ event: StreamEvent) -> String? {
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
            if let text = event.path, !text.isEmpty {
                guard !text.contains("\0") else { return "data.path must not hold NUL" }
                path = text.prefix(utf8Bytes: Self.maxPathLength)
            }
            for bucket in buckets {
                counts[bucket, default: Counts()].views += 1
                if let visitor { see(visitor, in: Scope(bucket: bucket, measure: .views, path: "")) }
            }
            if let path {
                let key = PathDay(repository: repository, day: day.start, path: path)
                paths[key, default: PathCounts()].views += 1
                if let title = event.title { paths[key]!.title = title.prefix(utf8Bytes: Self.maxTitleLength) }
                if let visitor { see(visitor, in: Scope(bucket: day, measure: .pathViews, path: path)) }
            }
        case "repo.clone":
            for bucket in buckets {
                counts[bucket, default: Counts()].clones += 1
                if let visitor { see(visitor, in: Scope(bucket: bucket, measure: .clones, path: "")) }
            }
        case "repo.push":
            let commits = event.commits ?? 0
            guard commits >= 0, commits < 1e12 else { return "data.commits must be a count" }
            for bucket in buckets {
                counts[bucket, default: Counts()].pushes += 1
                counts[bucket]!.commits += Int64(commits)
            }
        case "repo.download":
            for bucket in buckets { counts[bucket, default: Counts()].downloads += 1 }
        case "pull.opened":
            for bucket in buckets { counts[bucket, default: Counts()].pullsOpened += 1 }
        case "pull.merged":
            for bucket in buckets { counts[bucket, default: Counts()].pullsMerged += 1 }
        default:
            return "unknown event type \"\(event.type.prefix(64))\""
        }
        counted += 1
        if oldest.map({ event.at < $0 }) ?? true { oldest = event.at }
        return nil
    }

    private mutating func see(_ visitor: Int64, in scope: Scope) {
        let key = scope.key
        if scopes[key] == nil { scopes[key] = scope }
        sightings.insert(Sighting(scope: key, visitor: visitor))
    }

    /// Adds each sighting to its scope's visitor set and counts, as uniques, the visitors
    /// the sets did not hold before (the same counts if the batch is counted again).
    mutating func countNewVisitors(in sets: VisitorSets, batchID: String) async throws {
        var byScope: [Int64: [String]] = [:]
        for sighting in sightings { byScope[sighting.scope, default: []].append(String(sighting.visitor)) }
        let groups = byScope.map { (key: $0.key, visitors: $0.value) }
        let counts = try await sets.countNew(
            batchID: batchID, visitorsByScope: groups.map { (String(UInt64(bitPattern: $0.key), radix: 16), $0.visitors) })
        for (group, count) in zip(groups, counts) where count > 0 { addNewVisitors(scope: group.key, count: Int64(count)) }
    }

    /// Adds `count` visitors that scope `key` had not seen before.
    private mutating func addNewVisitors(scope key: Int64, count: Int64) {
        guard let scope = scopes[key] else { return }
        switch scope.measure {
        case .views: counts[scope.bucket, default: Counts()].visitors += count
        case .clones: counts[scope.bucket, default: Counts()].cloners += count
        case .pathViews: paths[PathDay(repository: scope.bucket.repository, day: scope.bucket.start, path: scope.path), default: PathCounts()].visitors += count
        }
    }

    /// A visitor id as a number: its first 16 hexadecimal digits.
    static func visitorNumber(_ text: String) -> Int64? {
        guard (1...64).contains(text.utf8.count) else { return nil }
        var value: UInt64 = 0
        for (index, byte) in text.utf8.enumerated() {
            guard let digit = byte.hexDigitValue else { return nil }
            if index < 16 { value = value << 4 | UInt64(digit) }
        }
        return Int64(bitPattern: value)
    }

    private static func modulo(_ value: Int64, _ divisor: Int64) -> Int64 {
        let remainder = value % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}

/// FNV-1a over 64-bit words, finished with a SplitMix64 mix: a stable digest (Swift's
/// `Hasher` is seeded per process, and every processor must agree on a scope's key).
struct Digest {
    private(set) var state: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ word: UInt64) {
        state = (state ^ word) &* 0x0000_0100_0000_01B3
    }

    var value: UInt64 {
        var z = state &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
