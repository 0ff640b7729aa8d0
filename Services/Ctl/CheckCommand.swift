import ArgumentParser
import CairnDatabase
import CairnModel
import CairnProtocol
import CairnRedis
import CairnService
import Foundation
import Logging
import NIOHTTP1
import PostgresNIO

/// `cairnctl check [--repair]`: looks for the ways the stores can disagree and says what it
/// found; exits 1 when something is wrong. `--repair` fixes what can be fixed safely.
struct CheckCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the stores against each other: repositories in the database but not on disk and the reverse, blobs referenced but missing or unused, outbox rows older than a minute, dead letters, social sets out of step.",
        discussion: "Exits 1 when something is wrong. --repair relays stuck outbox rows and rebuilds the social sets; the rest needs a person (cairnctl gc, cairnctl requeue).")

    @OptionGroup var options: GlobalOptions
    @Flag(name: .long, help: "Repair what can be repaired safely.") var repair = false

    mutating func execute() async throws {
        let context = try CtlContext(options)
        let repair = repair
        let findings = try await withPostgres(context.configuration.database, logger: context.logger) { client in
            try await withRedis(context) { redis in
                try await IntegrityCheck(
                    database: client, redis: redis, namespace: context.configuration.redisNamespace,
                    repostore: try context.internalClient(.repostore), blobstore: try context.internalClient(.blobstore), logger: context.logger
                ).run(repair: repair)
            }
        }
        for finding in findings { print(finding.line) }
        let problems = findings.filter { !$0.isRepaired }
        print(problems.isEmpty ? "everything is in order" : "\(problems.count) problem\(problems.count == 1 ? "" : "s") found")
        if !problems.isEmpty { throw ExitCode(1) }
    }
}

/// One thing `cairnctl check` found.
struct Finding: Sendable, Equatable {
    enum Kind: String, Sendable {
        case repositoryMissingOnDisk = "repository not on disk"
        case repositoryWithoutRow = "repository on disk without a record"
        case blobMissing = "blob referenced but missing"
        case blobUnused = "blob unused past the grace period"
        case outboxStuck = "outbox rows older than a minute"
        case deadLetters = "dead letters"
        case socialSetsOutOfStep = "social sets out of step"
    }

    let kind: Kind
    let detail: String
    var isRepaired = false

    var line: String { "\(isRepaired ? "REPAIRED" : "PROBLEM ") \(kind.rawValue): \(detail)" }
}

/// The checks behind `cairnctl check`.
struct IntegrityCheck: Sendable {
    let database: PostgresClient
    let redis: RedisClient
    let namespace: String
    let repostore: InternalClient
    let blobstore: InternalClient
    let logger: Logger
    /// Unused blobs younger than this are uploads whose use is not recorded yet.
    var blobGrace: TimeInterval = 24 * 3600

    func run(repair: Bool) async throws -> [Finding] {
        var findings = try await repositories()
        findings += try await blobs()
        findings += try await outbox(repair: repair)
        findings += try await deadLetters()
        findings += try await socialSets(repair: repair)
        return findings
    }

    func repositories() async throws -> [Finding] {
        guard let onDisk = try await repostore.getJSON(RepositoryListing.self, "/repos")?.ids else { throw CtlError("the repository store has no listing at /repos") }
        var live: [Int64: String] = [:]
        var recentlyDeleted: Set<Int64> = []
        let rows = try await database.run(
            """
            SELECT r.id, u.username || '/' || r.name, r.deleted_at IS NOT NULL AND r.deleted_at > now() - interval '1 hour'
            FROM repositories r JOIN users u ON u.id = r.owner_id WHERE r.deleted_at IS NULL OR r.deleted_at > now() - interval '1 hour'
            """, logger: logger)
        for try await (id, name, deleting) in rows.decode((Int64, String, Bool).self) {
            if deleting { recentlyDeleted.insert(id) } else { live[id] = name }
        }
        let disk = Set(onDisk)
        var findings = live.filter { !disk.contains($0.key) }.sorted { $0.key < $1.key }.map {
            Finding(kind: .repositoryMissingOnDisk, detail: "\($0.value) (id \($0.key)) has no \($0.key).git")
        }
        findings += onDisk.filter { live[$0] == nil && !recentlyDeleted.contains($0) }.map {
            Finding(kind: .repositoryWithoutRow, detail: "\($0).git belongs to no repository")
        }
        return findings
    }

    func blobs(now: Date = Date()) async throws -> [Finding] {
        var stored: [String: Date] = [:]
        try await BlobCollector.walk(blobstore) { page in for blob in page { stored[blob.sha256] = blob.storedAt } }
        var referenced: [String: String] = [:]
        let rows = try await database.run(
            """
            SELECT b.sha256, u.username || '/' || r.name || ' ' || b.kind || ' ' || b.name FROM repository_blobs b
            JOIN repositories r ON r.id = b.repository_id JOIN users u ON u.id = r.owner_id WHERE r.deleted_at IS NULL
            """, logger: logger)
        for try await (hash, use) in rows.decode((String, String).self) { referenced[hash] = use }
        var findings = referenced.filter { stored[$0.key] == nil }.sorted { $0.key < $1.key }.map {
            Finding(kind: .blobMissing, detail: "\($0.key), used by \($0.value)")
        }
        let unused = stored.filter { referenced[$0.key] == nil && $0.value < now.addingTimeInterval(-blobGrace) }.count
        if unused > 0 { findings.append(Finding(kind: .blobUnused, detail: "\(unused) blobs; cairnctl gc removes them")) }
        return findings
    }

    func outbox(repair: Bool) async throws -> [Finding] {
        let outbox = Outbox(client: database, redis: redis, namespace: namespace, logger: logger)
        let stuck = try await outbox.backlog(olderThan: .seconds(60))
        guard stuck > 0 else { return [] }
        var finding = Finding(kind: .outboxStuck, detail: "\(stuck) rows; is a worker running its outbox relay?")
        if repair {
            _ = try await outbox.relay(minimumAge: .seconds(60), limit: 10_000)
            finding.isRepaired = try await outbox.backlog(olderThan: .seconds(60)) == 0
        }
        return [finding]
    }

    func deadLetters() async throws -> [Finding] {
        var findings: [Finding] = []
        for queue in QueueName.allCases {
            let dead = try await ReliableQueue(redis: redis, name: queue.rawValue, namespace: namespace).deadCount()
            if dead > 0 { findings.append(Finding(kind: .deadLetters, detail: "\(dead) in \(queue.rawValue); see cairnctl queues, then cairnctl requeue")) }
        }
        return findings
    }

    func socialSets(repair: Bool) async throws -> [Finding] {
        let social = SocialGraph(client: database, redis: redis, namespace: namespace, logger: logger)
        var findings: [Finding] = []
        for relation in SocialRelation.allCases {
            let (missing, extra) = try await social.differences(relation)
            if missing + extra > 0 {
                findings.append(Finding(kind: .socialSetsOutOfStep, detail: "\(relation.rawValue): \(missing) missing from Redis, \(extra) only in Redis"))
            }
        }
        if repair, !findings.isEmpty {
            try await social.rebuild()
            for index in findings.indices { findings[index].isRepaired = true }
        }
        return findings
    }
}
