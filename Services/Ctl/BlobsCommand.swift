import ArgumentParser
import AsyncHTTPClient
import CairnModel
import CairnProtocol
import CairnService
import CairnSigning
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// `cairnctl gc`: drops archives nobody asked for in a while, then removes blobs no live
/// repository uses, once older than the grace period.
struct GCCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete blobs that no repository uses (LFS objects, downloads, archives) once they are older than the grace period.",
        discussion: """
            The grace period keeps blobs whose upload finished but whose use is not recorded yet (an LFS upload before its verify). \
            Archives (`/archive/<ref>.tar.gz`) not downloaded for --archive-days are dropped first; the next request builds them again.
            """)

    @OptionGroup var options: GlobalOptions
    @Option(name: .long, help: "Hours an unused blob is kept after it was stored.") var graceHours = 24
    @Option(name: .long, help: "Days an archive is kept after it was last downloaded.") var archiveDays = 30
    @Flag(name: .long, help: "Only report what would be deleted.") var dryRun = false

    mutating func execute() async throws {
        let context = try CtlContext(options)
        let blobstore = try context.internalClient(.blobstore)
        guard graceHours >= 0, archiveDays >= 0, graceHours <= 1_000_000, archiveDays <= 100_000 else {
            throw ValidationError("--grace-hours and --archive-days must be between 0 and a million")
        }
        let (grace, archiveAge, dryRun) = (TimeInterval(graceHours) * 3600, TimeInterval(archiveDays) * 86400, dryRun)
        let report = try await withPostgres(context.configuration.database, logger: context.logger) { client in
            try await BlobCollector(blobstore: blobstore, references: RepositoryBlobStore(client: client, logger: context.logger))
                .collect(grace: grace, archivesUnusedFor: archiveAge, dryRun: dryRun)
        }
        print("\(report.archivesDropped) archives unused for \(archiveDays) days \(dryRun ? "would be dropped" : "dropped")")
        print("\(report.kept) blobs in use, \(report.young) unused but younger than \(graceHours) h, "
              + "\(report.deleted.count) unused \(dryRun ? "would be deleted" : "deleted") (\(report.deletedBytes) bytes)")
        for hash in report.deleted { print("  \(dryRun ? "would delete" : "deleted") \(hash)") }
    }
}

/// `cairnctl scrub`: re-hashes every stored blob and reports those whose body no longer
/// matches their name.
struct ScrubCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "scrub",
        abstract: "Re-hash every stored blob and report any whose contents no longer match their SHA-256.",
        discussion: "Exits 1 when a blob is damaged.")

    @OptionGroup var options: GlobalOptions

    mutating func execute() async throws {
        let context = try CtlContext(options)
        let report = try await BlobCollector.scrub(blobstore: try context.internalClient(.blobstore))
        print("\(report.checked) blobs checked, \(report.damaged.count) damaged")
        for (hash, actual) in report.damaged { print("  DAMAGED \(hash): its contents hash to \(actual)") }
        if !report.damaged.isEmpty { throw ExitCode(1) }
    }
}

/// The garbage collector and the scrub, over the blob store's listing.
struct BlobCollector: Sendable {
    let blobstore: InternalClient
    let references: RepositoryBlobStore

    struct Report: Sendable {
        var kept = 0
        var young = 0
        var deleted: [String] = []
        var deletedBytes = 0
        var archivesDropped = 0
    }

    /// Drops the archives last used more than `archivesUnusedFor` seconds before `now`, then
    /// walks every blob a page at a time and deletes those no live repository uses that
    /// were stored more than `grace` seconds before `now`.
    func collect(grace: TimeInterval, archivesUnusedFor: TimeInterval = .infinity, dryRun: Bool, now: Date = Date()) async throws -> Report {
        var report = Report()
        let staleArchives = archivesUnusedFor.isFinite ? now.addingTimeInterval(-archivesUnusedFor) : nil
        if let staleArchives {
            report.archivesDropped = try await dryRun
                ? references.countArchives(unusedSince: staleArchives) : references.dropArchives(unusedSince: staleArchives)
        }
        try await Self.walk(blobstore) { page in
            let used = try await references.referenced(among: page.map(\.sha256), archivesUnusedSince: staleArchives)
            for blob in page {
                if used.contains(blob.sha256) {
                    report.kept += 1
                } else if blob.storedAt > now.addingTimeInterval(-grace) {
                    report.young += 1
                } else {
                    if !dryRun {
                        let response = try await blobstore.send(.DELETE, "/blobs/\(blob.sha256)", timeout: .seconds(60))
                        guard response.status == .noContent || response.status == .notFound else {
                            throw CtlError("the blob store refused to delete \(blob.sha256): \(response.status.code)")
                        }
                    }
                    report.deleted.append(blob.sha256)
                    report.deletedBytes += blob.size
                }
            }
        }
        return report
    }

    struct ScrubReport: Sendable {
        var checked = 0
        var damaged: [(String, String)] = []
    }

    /// Asks the blob store to re-hash every blob.
    static func scrub(blobstore: InternalClient) async throws -> ScrubReport {
        var report = ScrubReport()
        try await walk(blobstore) { page in
            for blob in page {
                let response = try await blobstore.send(.POST, "/blobs/\(blob.sha256)/verify", timeout: .hours(1))
                let body = try await response.body.collect(upTo: 1 << 16)
                if response.status == .notFound { continue }  // deleted since it was listed
                guard response.status == .ok else { throw CtlError("verifying \(blob.sha256) failed: \(response.status.code) \(String(buffer: body))") }
                let verification = try CairnJSON.decode(BlobVerification.self, from: Data(body.readableBytesView))
                report.checked += 1
                if !verification.intact { report.damaged.append((blob.sha256, verification.actual)) }
            }
        }
        return report
    }

    /// Calls `body` with each page of the blob store's listing, in hash order.
    static func walk(_ blobstore: InternalClient, pageSize: Int = 1000, _ body: ([ListedBlob]) async throws -> Void) async throws {
        var after: String?
        while true {
            let path = "/blobs?limit=\(pageSize)" + (after.map { "&after=\($0)" } ?? "")
            guard let page = try await blobstore.getJSON(BlobListing.self, path)?.blobs else { throw CtlError("the blob store has no listing at \(path)") }
            try await body(page)
            guard page.count == pageSize, let last = page.last else { return }
            after = last.sha256
        }
    }
}
