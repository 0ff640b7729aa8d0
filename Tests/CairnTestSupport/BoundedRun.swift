import AsyncHTTPClient
public import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import Synchronization
import Testing

/// Runs `service` (a daemon, or a test's own HTTP server) until `body` returns, then stops
/// it: a graceful shutdown as systemd asks for, cancelled after `grace`, and left behind with
/// a warning if it has not stopped `stopLimit` later: one stuck stop must not hold the whole
/// run. `running` names the services still running, for the warnings; `ready` is awaited
/// (up to a minute) before `body` runs.
public func runBounded<T: Sendable>(
    _ service: some Service, name: String, logger: Logger, grace: Duration = .seconds(10), stopLimit: Duration = .seconds(30),
    running: @escaping @Sendable () -> [String] = { [] }, ready: @escaping @Sendable () async -> Bool,
    _ body: () async throws -> T
) async throws -> T {
    let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
    let task = Task { try await group.run() }
    let finished = Box<Bool>(false)
    Task { _ = await task.result; finished.value = true }
    var started: [String] = []
    func stop() async {
        await group.triggerGracefulShutdown()
        if await ended(task, within: grace) { return }
        let draining = running()
        // Services stop one after another, the last listed first: the last of those left is
        // stuck in its graceful shutdown, a bug a deploy would meet as a slow stop. (When none
        // has stopped, the HTTP server, which stops first, is still draining connections.)
        if !draining.isEmpty && draining != started {
            Issue.record("\(name)'s graceful shutdown stalled in \(draining.last ?? "?") (still running: \(draining))", severity: .warning)
        }
        task.cancel()
        if await ended(task, within: stopLimit) { return }
        Issue.record(
            "\(name) did not stop within \(stopLimit) of its cancellation: left behind; running at the cancellation: \(draining), still running: \(running())",
            severity: .warning)
    }
    // Not ready, or ended (it could not listen, say): the wait stops at whichever comes first.
    let isReady = await eventually(timeout: .seconds(60)) { finished.value ? true : await ready() }
    guard isReady, !finished.value else {
        let failure = finished.value ? await task.result : nil
        await stop()
        if case .failure(let error) = failure { throw TestFailure("\(name) stopped before it was ready: \(error)") }
        throw TestFailure("\(name) did not get ready within a minute")
    }
    started = running()
    do {
        let result = try await body()
        await stop()
        return result
    } catch {
        await stop()
        throw error
    }
}

/// Whether `url` answers 200 now.
public func answers(_ url: String) async -> Bool {
    (try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(1)).status) == .ok
}

/// A value shared between tasks.
public final class Box<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    public init(_ value: Value) { state = Mutex(value) }
    public var value: Value {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
