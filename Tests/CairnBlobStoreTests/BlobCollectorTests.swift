@testable import CairnCtl
import CairnModel
import CairnProtocol
import CairnService
import CairnTestSupport
import Crypto
import Foundation
import NIOCore
import PostgresNIO
import Testing

/// `cairnctl gc` and `cairnctl scrub` over a real blob store and a real reference table.
@Suite(.timeLimit(.minutes(5))) struct BlobCollectorTests {
    @Test func test_gcKeepsBlobsInUseAndYoungOnesAndRemovesTheRestAfterTheGracePeriod() async throws {
        try await withTestDatabase { client, _ in try await withBlobStore { store in
            let references = RepositoryBlobStore(client: client, logger: TestEnvironment.logger)
            let owner = try await UserStore(client: client, logger: TestEnvironment.logger)
                .create(username: "keeper", email: "keeper@example.com", password: "password-keeper", isAdmin: false)
            func repository(_ name: String, deleted: Bool = false) async throws -> Int64 {
                let rows = try await client.query(
                    "INSERT INTO repositories (owner_id, name, deleted_at) VALUES (\(owner.id), \(name), \(deleted ? Date() : nil)) RETURNING id",
                    logger: TestEnvironment.logger)
                for try await id in rows.decode(Int64.self) { return id }
                throw TestFailure("no repository made")
            }
            let live = try await repository("live")
            let gone = try await repository("gone", deleted: true)
            var hashes: [String: String] = [:]
            for name in ["download", "lfs", "archive", "of-a-deleted-repository", "unused"] {
                let body = Array("the \(name) blob\n".utf8)
                hashes[name] = SHA256.hash(data: body).hexString
                #expect(try await store.put(hashes[name]!, body).status == 201)
            }
            try await references.record(repositoryID: live, use: .download, name: "tool.tar.gz", sha256: hashes["download"]!, size: 1)
            try await references.record(repositoryID: live, use: .lfs, name: hashes["lfs"]!, sha256: hashes["lfs"]!, size: 1)
            try await references.record(repositoryID: live, use: .archive, name: "\(String(repeating: "c", count: 40)).zip", sha256: hashes["archive"]!, size: 1)
            try await references.record(repositoryID: gone, use: .download, name: "old.zip", sha256: hashes["of-a-deleted-repository"]!, size: 1)

            let collector = BlobCollector(blobstore: store.client, references: references)
            // Everything was stored just now: within the grace period nothing goes.
            let early = try await collector.collect(grace: 3600, dryRun: false)
            #expect(early.kept == 3 && early.young == 2 && early.deleted.isEmpty)
            // A dry run two hours on reports without deleting.
            let later = Date().addingTimeInterval(7200)
            let dry = try await collector.collect(grace: 3600, dryRun: true, now: later)
            #expect(Set(dry.deleted) == [hashes["unused"]!, hashes["of-a-deleted-repository"]!])
            #expect(try await store.listed().count == 5)
            let swept = try await collector.collect(grace: 3600, dryRun: false, now: later)
            #expect(Set(swept.deleted) == Set(dry.deleted) && swept.kept == 3)
            #expect(Set(try await store.listed()) == [hashes["download"]!, hashes["lfs"]!, hashes["archive"]!])

            // Dropping a use makes its blob garbage for the next run.
            #expect(try await references.remove(repositoryID: live, use: .download, name: "tool.tar.gz"))
            let next = try await collector.collect(grace: 3600, dryRun: false, now: later)
            #expect(next.deleted == [hashes["download"]!])
        } }
    }

    @Test func test_gcDropsArchivesNobodyDownloadedForAWhileAndKeepsTheRest() async throws {
        try await withTestDatabase { client, _ in try await withBlobStore { store in
            let references = RepositoryBlobStore(client: client, logger: TestEnvironment.logger)
            let owner = try await UserStore(client: client, logger: TestEnvironment.logger)
                .create(username: "archivist", email: "archivist@example.com", password: "password-archivist", isAdmin: false)
            let rows = try await client.query("INSERT INTO repositories (owner_id, name) VALUES (\(owner.id), 'kit') RETURNING id", logger: TestEnvironment.logger)
            var repository: Int64 = 0
            for try await id in rows.decode(Int64.self) { repository = id }
            var hashes: [String: String] = [:]
            for name in ["stale", "fresh", "unused-old-download"] {
                let body = Array("the \(name) archive\n".utf8)
                hashes[name] = SHA256.hash(data: body).hexString
                #expect(try await store.put(hashes[name]!, body).status == 201)
            }
            try await references.record(repositoryID: repository, use: .archive, name: "\(String(repeating: "a", count: 40)).zip", sha256: hashes["stale"]!, size: 1)
            try await references.record(repositoryID: repository, use: .archive, name: "\(String(repeating: "b", count: 40)).zip", sha256: hashes["fresh"]!, size: 1)
            try await references.record(repositoryID: repository, use: .download, name: "old.zip", sha256: hashes["unused-old-download"]!, size: 1)
            // All three were recorded 40 days ago; the fresh archive was downloaded yesterday.
            try await client.query("UPDATE repository_blobs SET created_at = now() - interval '40 days'", logger: TestEnvironment.logger)
            try await references.countDownload(repositoryID: repository, use: .archive, name: "\(String(repeating: "b", count: 40)).zip")
            try await client.query("UPDATE repository_blobs SET last_used_at = now() - interval '1 day' WHERE last_used_at IS NOT NULL", logger: TestEnvironment.logger)

            let collector = BlobCollector(blobstore: store.client, references: references)
            let dry = try await collector.collect(grace: 0, archivesUnusedFor: 30 * 86400, dryRun: true)
            #expect(dry.archivesDropped == 1 && dry.deleted == [hashes["stale"]!] && dry.kept == 2)
            #expect(try await references.list(repositoryID: repository, use: .archive).count == 2)
            #expect(try await store.listed().count == 3)

            let swept = try await collector.collect(grace: 0, archivesUnusedFor: 30 * 86400, dryRun: false)
            #expect(swept.archivesDropped == 1 && swept.deleted == [hashes["stale"]!] && swept.kept == 2)
            #expect(try await references.list(repositoryID: repository, use: .archive).map(\.sha256) == [hashes["fresh"]!])
            #expect(Set(try await store.listed()) == [hashes["fresh"]!, hashes["unused-old-download"]!])
            // Without an archive age nothing more goes: downloads never age out.
            let again = try await collector.collect(grace: 0, dryRun: false)
            #expect(again.archivesDropped == 0 && again.deleted.isEmpty)
        } }
    }

    @Test func test_scrubReportsTheDamagedBlobOnly() async throws {
        try await withBlobStore { store in
            var hashes: [String] = []
            for n in 0..<3 {
                let body = Array("scrubbed \(n)\n".utf8)
                hashes.append(SHA256.hash(data: body).hexString)
                #expect(try await store.put(hashes[n], body).status == 201)
            }
            let clean = try await BlobCollector.scrub(blobstore: store.client)
            #expect(clean.checked == 3 && clean.damaged.isEmpty)
            let victim = hashes[1]
            try Data("bit rot\n".utf8).write(to: URL(fileURLWithPath: "\(store.root)/sha256/\(victim.prefix(2))/\(victim.dropFirst(2).prefix(2))/\(victim)"))
            let report = try await BlobCollector.scrub(blobstore: store.client)
            #expect(report.checked == 3)
            #expect(report.damaged.map(\.0) == [victim])
            #expect(report.damaged.first?.1 == SHA256.hash(data: Data("bit rot\n".utf8)).hexString)
        }
    }
}
