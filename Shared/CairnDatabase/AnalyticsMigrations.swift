/// The analytics database's migrations. Append only.
enum AnalyticsMigrations {
    static let all: [Migration] = [
        Migration(1, "processed batches", [
            """
            CREATE TABLE processed_batches (
                batch_id text PRIMARY KEY,
                events integer NOT NULL,
                processed_at timestamptz NOT NULL DEFAULT now()
            )
            """,
        ]),
        Migration(2, "traffic aggregates", [
            "ALTER TABLE processed_batches ADD COLUMN lag_ms bigint NOT NULL DEFAULT 0",
            "CREATE INDEX processed_batches_processed_at ON processed_batches (processed_at)",
            // Per repository (0: the whole site), per hour (span 1) and per day (span 2).
            """
            CREATE TABLE traffic (
                repo_id bigint NOT NULL,
                span smallint NOT NULL,
                bucket timestamptz NOT NULL,
                views bigint NOT NULL DEFAULT 0,
                visitors bigint NOT NULL DEFAULT 0,
                clones bigint NOT NULL DEFAULT 0,
                cloners bigint NOT NULL DEFAULT 0,
                pushes bigint NOT NULL DEFAULT 0,
                commits bigint NOT NULL DEFAULT 0,
                downloads bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (repo_id, span, bucket)
            )
            """,
            """
            CREATE TABLE path_traffic (
                repo_id bigint NOT NULL,
                day timestamptz NOT NULL,
                path text NOT NULL,
                title text NOT NULL DEFAULT '',
                views bigint NOT NULL DEFAULT 0,
                visitors bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (repo_id, day, path)
            )
            """,
            "CREATE INDEX traffic_span_bucket ON traffic (span, bucket)",
        ]),
        // A constant default: PostgreSQL adds these without rewriting the table.
        Migration(3, "pull request counts", [
            "ALTER TABLE traffic ADD COLUMN pulls_opened bigint NOT NULL DEFAULT 0, ADD COLUMN pulls_merged bigint NOT NULL DEFAULT 0",
        ]),
    ]
}
