import CairnProtocol
import CairnRedis
public import CairnService
import Foundation
public import Hummingbird

/// Builds `cairn-stream`: the analytics pipeline. It folds the events of the Redis list
/// `<namespace>:events` into the analytics database (see `StreamProcessor`) and prunes what
/// the pages no longer need. Needs Redis and the analytics database.
public func buildStream(_ environment: DaemonEnvironment) async throws -> some ApplicationProtocol {
    let configuration = environment.configuration
    let stores = DaemonStores(environment, needs: [.analyticsDatabase, .redis])
    let router = DaemonRouter.make(BasicRequestContext.self, daemon: .stream, signature: environment.internalSignature, registry: environment.registry, checks: stores.checks)
    let analytics = stores.analytics!
    let processor = StreamProcessor(
        batches: EventBatches(redis: stores.redis!, namespace: configuration.redisNamespace),
        visitors: VisitorSets(redis: stores.redis!, namespace: configuration.redisNamespace),
        writer: TrafficWriter(client: analytics, logger: environment.logger),
        settings: configuration.stream,
        testPause: configuration.stream.testPause.flatMap(StreamProcessor.TestPause.init(rawValue:)),
        logger: environment.logger)
    return DaemonApplication.make(
        environment, router: router, stores: stores,
        services: [processor, TrafficRetention(client: analytics, logger: environment.logger)])
}
