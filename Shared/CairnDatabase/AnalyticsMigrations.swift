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
    ]
}
