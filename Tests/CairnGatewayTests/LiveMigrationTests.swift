import CairnDatabase
import CairnModel
import CairnTestSupport
import Foundation
import NIOHTTP1
import PostgresNIO
import Synchronization
import Testing

/// A deploy applies the next release's migrations while this release serves (README,
/// "Deploying"). Here the running daemons are this release, and the migrations are a
/// next release's of every kind a migration may be: new columns and tables, an index, a
/// backfill, and the contract step that drops them again. Requests of every sort run all
/// the while, and a long transaction holds the repositories table, as a slow request would.
@Suite(.timeLimit(.minutes(5))) struct LiveMigrationTests {
    /// The next release's migrations, one of each kind an expand or contract migration has.
    static func nextRelease(after version: Int) -> [Migration] {
        [
            Migration(version + 1, "display names and topics", [
                "ALTER TABLE users ADD COLUMN display_name text",
                "ALTER TABLE repositories ADD COLUMN topics text[] NOT NULL DEFAULT '{}'",
                "CREATE TABLE repository_pins (user_id bigint NOT NULL REFERENCES users (id), repository_id bigint NOT NULL REFERENCES repositories (id), PRIMARY KEY (user_id, repository_id))",
                "CREATE INDEX repositories_topics ON repositories USING gin (topics)",
            ]),
            Migration(version + 2, "display names backfilled", [
                "UPDATE users SET display_name = username WHERE display_name IS NULL",
            ]),
            Migration(version + 3, "pins dropped", phase: .contract, [
                "DROP TABLE repository_pins",
                "ALTER TABLE users DROP COLUMN display_name",
            ]),
        ]
    }

    @Test func test_theDaemonsKeepServingWhileMigrationsAreApplied() async throws {
        try await CairnStack.with { stack in
            let ada = try await stack.makeUser("ada")
            let repository = try await stack.makeRepository(ada, "kit")
            let work = try await stack.makeWorkingCopy("kit", commits: 2)
            try await stack.git(["push", "--quiet", stack.cloneURL("ada/kit", credentials: "ada:\(ada.password)"), "main"], in: work)
            let upcoming = Self.nextRelease(after: Schema.main.requiredVersion)
            for migration in upcoming {
                #expect(migration.phase == .contract || migration.breakingStatements.isEmpty, "the fixture itself must follow the rules")
            }

            let outcome = Traffic()
            let traffic = Task { try await Self.serve(stack, ada, outcome) }
            defer { traffic.cancel() }
            #expect(try await eventually(timeout: .seconds(30)) { outcome.snapshot().ok >= 10 })

            // A transaction that read the repositories table and stays open, as a slow request
            // does: no migration of that table can take its lock until it ends.
            let held = Mutex<(start: Date, end: Date)?>(nil)
            let blocker = Task {
                try await stack.database.withConnection { connection in
                    _ = try await connection.query("BEGIN", logger: TestEnvironment.logger)
                    _ = try await connection.query("SELECT count(*) FROM repositories WHERE id = \(repository.id)", logger: TestEnvironment.logger)
                    let start = Date()
                    try await Task.sleep(for: .seconds(3))
                    held.withLock { $0 = (start, Date()) }
                    _ = try await connection.query("COMMIT", logger: TestEnvironment.logger)
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            func migrator(_ migrations: [Migration]) -> Migrator {
                Migrator(client: stack.database, schema: .main, migrations: Schema.main.migrations + migrations, logger: TestEnvironment.logger, lockTimeout: .milliseconds(300))
            }
            let migrating = Date()
            let expanded = try await migrator(Array(upcoming.prefix(2))).migrate()
            let blockerEnded = await ended(blocker, within: .seconds(60))
            #expect(blockerEnded, "the transaction holding the table never ended")
            if blockerEnded { try await blocker.value }
            #expect(expanded == upcoming.prefix(2).map(\.version))
            // The backfill ran while new users kept coming: every user made before the
            // migrations started (they waited seconds behind the open transaction) has a
            // display name, read back before the contract step drops the column again.
            let rows = try await stack.database.query(
                "SELECT count(*)::int8, count(*) FILTER (WHERE display_name = username)::int8 FROM users WHERE created_at < \(migrating)",
                logger: TestEnvironment.logger)
            for try await (users, named) in rows.decode((Int, Int).self) {
                #expect(users > 1 && named == users, "\(named) of \(users) users have their display name")
            }
            #expect(try await migrator(upcoming).migrate() == [upcoming[2].version])
            let window = try #require(held.withLock { $0 })
            // The migrations could not go through while the transaction held the table, but
            // they stepped back in turn, so requests kept being answered meanwhile.
            let answered = outcome.snapshot().answered(between: migrating.addingTimeInterval(0.5), and: window.end)
            #expect(answered > 0, "requests stalled behind a waiting migration")

            let settled = outcome.snapshot().ok
            #expect(try await eventually(timeout: .seconds(30)) { outcome.snapshot().ok >= settled + 10 })
            traffic.cancel()
            // Its last request may be cut short; the figures are read either way, and a
            // request that ignores the cancellation must not hold the whole run.
            _ = await ended(traffic, within: .seconds(30))
            let final = outcome.snapshot()
            #expect(final.failures.isEmpty, "\(final.failures.prefix(5))")
        }
    }

    /// Requests of every kind, one after another, until cancelled: pages, API reads and
    /// writes, sign-ins, and `git ls-remote`.
    static func serve(_ stack: CairnStack, _ ada: TestUser, _ outcome: Traffic) async throws {
        let anonymous = WebSession(stack.gatewayURL)
        let signedIn = try await WebPagesTests.signIn(stack, ada)
        var round = 0
        while !Task.isCancelled {
            round += 1
            let checks: [(String, () async throws -> Bool)] = [
                ("home page", { try await anonymous.get("/").status == 200 }),
                ("repository page", { try await anonymous.get("/ada/kit").status == 200 }),
                ("profile", { try await anonymous.get("/ada").status == 200 }),
                ("API read", { try await stack.api(.GET, "/api/v3/repos/ada/kit", as: ada).0 == 200 }),
                ("API commits", { try await stack.api(.GET, "/api/v3/repos/ada/kit/commits", as: ada).0 == 200 }),
                ("repository created", { try await stack.api(.POST, "/api/v3/user/repos", as: ada, json: #"{"name": "made\#(round)"}"#).0 == 201 }),
                ("signed up", { try await stack.users.create(username: "user\(round)", email: "user\(round)@example.com", password: "password-\(round)").id > 0 }),
                ("signed-in home page", { try await signedIn.get("/").status == 200 }),
                ("star form", { try await signedIn.post(round % 2 == 0 ? "/ada/kit/star" : "/ada/kit/unstar", [:]).status == 303 }),
                ("git ls-remote", { try await stack.tryGit(["ls-remote", stack.cloneURL("ada/kit")]).succeeded }),
            ]
            for (name, check) in checks where !Task.isCancelled {
                let failure: String?
                do {
                    failure = try await check() ? nil : name
                } catch {
                    failure = "\(name): \(error)"
                }
                // A request cut short by the end of the test is no failure.
                guard !Task.isCancelled else { break }
                outcome.record(failure)
            }
        }
    }
}

/// What the traffic got: every answer's time, and what failed.
final class Traffic: Sendable {
    struct Snapshot {
        var ok = 0
        var failures: [String] = []
        var times: [Date] = []

        func answered(between start: Date, and end: Date) -> Int { times.filter { $0 >= start && $0 <= end }.count }
    }

    private let state = Mutex(Snapshot())

    /// Records an answer: nil when it was right, else what went wrong.
    func record(_ failure: String?) {
        state.withLock {
            if let failure {
                $0.failures.append(failure)
            } else {
                $0.ok += 1
                $0.times.append(Date())
            }
        }
    }

    func snapshot() -> Snapshot { state.withLock { $0 } }
}
