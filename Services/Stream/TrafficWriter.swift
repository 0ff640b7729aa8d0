import CairnDatabase
import Foundation
import Logging
import PostgresNIO

/// Writes a `TrafficFold` (its uniques counted) to the analytics database in one transaction
/// that first records the batch id, so a batch folded before (and taken again after a
/// crash) adds nothing.
struct TrafficWriter: Sendable {
    let client: PostgresClient
    let logger: Logger

    enum Outcome: Equatable { case folded, alreadyFolded }

    func write(_ fold: TrafficFold, batchID: String, events: Int, lagMilliseconds: Int) async throws -> Outcome {
        // Two processors can touch the same rows; rows are written in one order (sorted) so
        // they never wait on each other in a cycle, and a deadlock PostgreSQL still reports
        // is retried: the transaction rolled back whole.
        var attempt = 0
        while true {
            do {
                return try await writeOnce(fold, batchID: batchID, events: events, lagMilliseconds: lagMilliseconds)
            } catch let error as PSQLError where attempt < 3 && ["40P01", "40001"].contains(error.serverInfo?[.sqlState]) {
                attempt += 1
                logger.info("stream.batch_retried", metadata: ["batch.id": "\(batchID)", "error": "\(String(reflecting: error))"])
            }
        }
    }

    private func writeOnce(_ fold: TrafficFold, batchID: String, events: Int, lagMilliseconds: Int) async throws -> Outcome {
        try await client.withUnwrappedTransaction(logger: logger) { connection in
            let claimed = try await connection.run(
                "INSERT INTO processed_batches (batch_id, events, lag_ms) VALUES (\(batchID), \(events), \(lagMilliseconds)) ON CONFLICT DO NOTHING RETURNING 1",
                logger: logger)
            var claimedRows = 0
            for try await _ in claimed { claimedRows += 1 }
            guard claimedRows == 1 else { return .alreadyFolded }
            try await addPaths(fold, on: connection)
            // Last: every batch updates the site-wide row, so its lock is held only until the commit.
            try await addCounts(fold, on: connection)
            return .folded
        }
    }

    private func addCounts(_ fold: TrafficFold, on connection: PostgresConnection) async throws {
        guard !fold.counts.isEmpty else { return }
        let sorted = fold.counts.sorted { $0.key < $1.key }
        func column(_ value: (TrafficFold.Counts) -> Int64) -> [Int64] { sorted.map { value($0.value) } }
        let repositories = sorted.map(\.key.repository), spans = sorted.map(\.key.span.rawValue), starts = sorted.map(\.key.start)
        let views = column(\.views), visitors = column(\.visitors), clones = column(\.clones), cloners = column(\.cloners)
        let pushes = column(\.pushes), commits = column(\.commits), downloads = column(\.downloads)
        let pullsOpened = column(\.pullsOpened), pullsMerged = column(\.pullsMerged)
        try await connection.run(
            """
            INSERT INTO traffic AS t (repo_id, span, bucket, views, visitors, clones, cloners, pushes, commits, downloads, pulls_opened, pulls_merged)
            SELECT r, s, to_timestamp(b), views, visitors, clones, cloners, pushes, commits, downloads, pulls_opened, pulls_merged
            FROM unnest(
                \(repositories)::int8[], \(spans)::int2[], \(starts)::int8[], \(views)::int8[], \(visitors)::int8[],
                \(clones)::int8[], \(cloners)::int8[], \(pushes)::int8[], \(commits)::int8[], \(downloads)::int8[],
                \(pullsOpened)::int8[], \(pullsMerged)::int8[]
            ) AS u (r, s, b, views, visitors, clones, cloners, pushes, commits, downloads, pulls_opened, pulls_merged)
            ON CONFLICT (repo_id, span, bucket) DO UPDATE SET
                views = t.views + EXCLUDED.views, visitors = t.visitors + EXCLUDED.visitors,
                clones = t.clones + EXCLUDED.clones, cloners = t.cloners + EXCLUDED.cloners,
                pushes = t.pushes + EXCLUDED.pushes, commits = t.commits + EXCLUDED.commits,
                downloads = t.downloads + EXCLUDED.downloads,
                pulls_opened = t.pulls_opened + EXCLUDED.pulls_opened, pulls_merged = t.pulls_merged + EXCLUDED.pulls_merged
            """, logger: logger)
    }

    private func addPaths(_ fold: TrafficFold, on connection: PostgresConnection) async throws {
        guard !fold.paths.isEmpty else { return }
        let sorted = fold.paths.sorted { $0.key < $1.key }
        let repositories = sorted.map(\.key.repository), days = sorted.map(\.key.day), paths = sorted.map(\.key.path)
        let titles = sorted.map(\.value.title), views = sorted.map(\.value.views), visitors = sorted.map(\.value.visitors)
        try await connection.run(
            """
            INSERT INTO path_traffic AS t (repo_id, day, path, title, views, visitors)
            SELECT r, to_timestamp(d), p, title, views, visitors
            FROM unnest(\(repositories)::int8[], \(days)::int8[], \(paths)::text[], \(titles)::text[], \(views)::int8[], \(visitors)::int8[])
                AS u (r, d, p, title, views, visitors)
            ON CONFLICT (repo_id, day, path) DO UPDATE SET
                title = CASE WHEN EXCLUDED.title = '' THEN t.title ELSE EXCLUDED.title END,
                views = t.views + EXCLUDED.views, visitors = t.visitors + EXCLUDED.visitors
            """, logger: logger)
    }
}
