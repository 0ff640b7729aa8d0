/// The main database's migrations. Append only: a released migration never changes.
enum MainMigrations {
    static let all: [Migration] = [
        Migration(1, "task outbox", [
            """
            CREATE TABLE task_outbox (
                id uuid PRIMARY KEY,
                queue text NOT NULL,
                payload text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT clock_timestamp()
            )
            """,
            "CREATE INDEX task_outbox_created_at ON task_outbox (created_at)",
        ]),
    ]
}
