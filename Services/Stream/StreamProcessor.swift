import CairnProtocol
import CairnRedis
import CairnService
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Folds the analytics list into the analytics database, `settings.concurrency` batches at a
/// time: take a batch (or one a dead processor left), fold it in memory, count its new
/// unique visitors in Redis (`VisitorSets`), write it in one transaction that records its
/// id, then remove it from Redis along with its dead letters.
/// A crash anywhere in between leaves the batch leased; it is taken again when the lease
/// ends and, if its transaction had committed, recognised and not counted twice.
struct StreamProcessor: Service {
    let batches: EventBatches
    let visitors: VisitorSets
    let writer: TrafficWriter
    let settings: CairnConfiguration.StreamSettings
    /// For the crash tests only: where to stop for good, to be killed there.
    var testPause: TestPause?
    let logger: Logger

    /// Where a crash test stops the processor: with a batch folded (its new visitors already
    /// counted in Redis) but not committed, or committed before Redis hears of it.
    enum TestPause: String {
        case beforeCommit = "before-commit"
        case afterCommit = "after-commit"
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for _ in 0..<settings.concurrency {
                group.addTask { await loop() }
            }
        }
    }

    /// Folds batches until the daemon stops; the batch in hand is finished first.
    private func loop() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let full = try await foldNext()
                if !full { try? await Task.sleep(for: settings.batchWait) }
            } catch {
                logger.error("stream.batch_failed", metadata: ["error": "\(String(reflecting: error))"])
                Counter(label: "cairn_stream_batch_failures_total").increment()
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// A batch's events folded, with their new unique visitors counted.
    func fold(_ batch: EventBatch) async throws -> TrafficFold {
        var fold = TrafficFold(batch.events)
        try await fold.countNewVisitors(in: visitors, batchID: batch.id)
        return fold
    }

    private func pauseForTest(at point: TestPause, _ batch: EventBatch) async throws {
        guard testPause == point else { return }
        logger.notice("stream.paused", metadata: ["stream.pause": "\(point.rawValue)", "batch.id": "\(batch.id)"])
        try await Task.sleep(for: .seconds(86_400))
    }

    /// Folds one batch; whether it was full (so more are likely waiting).
    func foldNext() async throws -> Bool {
        guard let batch = try await batches.take(limit: settings.batchSize, lease: settings.lease) else { return false }
        let started = ContinuousClock.now
        let fold = try await fold(batch)
        // The lag recorded with the batch: from its oldest event to the start of its transaction.
        let lag = fold.oldest.map { max(0, Date().timeIntervalSince($0)) } ?? 0
        try await pauseForTest(at: .beforeCommit, batch)
        let outcome = try await writer.write(fold, batchID: batch.id, events: batch.events.count, lagMilliseconds: Int(lag * 1000))
        try await pauseForTest(at: .afterCommit, batch)
        try await batches.finish(batch, deadLetters: fold.deadLetters)

        Gauge(label: "cairn_stream_lag_seconds").record(lag)
        Recorder(label: "cairn_stream_batch_size", aggregate: true).record(batch.events.count)
        Metrics.Timer(label: "cairn_stream_batch_duration_seconds").recordSeconds((ContinuousClock.now - started).seconds)
        Counter(label: "cairn_stream_batches_total", dimensions: [("outcome", outcome == .folded ? "folded" : "already_folded")]).increment()
        if outcome == .folded {
            Counter(label: "cairn_stream_events_total").increment(by: fold.counted)
            Counter(label: "cairn_stream_events_dead_total").increment(by: fold.deadLetters.count)
        }
        if !fold.deadLetters.isEmpty {
            logger.warning("stream.events_dead_lettered", metadata: ["batch.id": "\(batch.id)", "events.dead": "\(fold.deadLetters.count)", "reason": "\(fold.deadLetters[0].reason)"])
        }
        if batch.reclaimed {
            logger.notice("stream.batch_reclaimed", metadata: ["batch.id": "\(batch.id)", "batch.outcome": "\(outcome)"])
        }
        return batch.events.count >= settings.batchSize
    }
}
