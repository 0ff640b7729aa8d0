import ArgumentParser
import CairnModel
import CairnRedis
import CairnService
import Foundation

/// `cairnctl rebuild-sets`: rewrites the Redis social sets (stars, watches, follows) from
/// PostgreSQL, their source of truth.
struct RebuildSetsCommand: AsyncParsableCommand, CairnctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild-sets",
        abstract: "Rebuild the Redis social sets (stars, watches, follows) from PostgreSQL, after Redis lost them or fell out of step.")

    @OptionGroup var options: GlobalOptions

    mutating func execute() async throws {
        let context = try CtlContext(options)
        let written = try await withPostgres(context.configuration.database, logger: context.logger) { client in
            try await withRedis(context) { redis in
                try await SocialGraph(client: client, redis: redis, namespace: context.configuration.redisNamespace, logger: context.logger).rebuild()
            }
        }
        print("rebuilt the social sets: \(written) stars, watches and follows")
    }
}
