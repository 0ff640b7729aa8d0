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
        Migration(2, "users, tokens, repositories, collaborators", [
            """
            CREATE TABLE users (
                id bigserial PRIMARY KEY,
                username text NOT NULL,
                email text NOT NULL,
                password_hash text NOT NULL,
                is_admin boolean NOT NULL DEFAULT false,
                session_version integer NOT NULL DEFAULT 1,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE UNIQUE INDEX users_username_key ON users (lower(username))",
            "CREATE UNIQUE INDEX users_email_key ON users (lower(email))",
            """
            CREATE TABLE access_tokens (
                id bigserial PRIMARY KEY,
                user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name text NOT NULL,
                token_hash text NOT NULL,
                scopes text[] NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz,
                revoked_at timestamptz
            )
            """,
            "CREATE UNIQUE INDEX access_tokens_hash_key ON access_tokens (token_hash)",
            "CREATE INDEX access_tokens_user ON access_tokens (user_id)",
            """
            CREATE TABLE repositories (
                id bigserial PRIMARY KEY,
                owner_id bigint NOT NULL REFERENCES users (id),
                name text NOT NULL,
                description text NOT NULL DEFAULT '',
                is_private boolean NOT NULL DEFAULT false,
                default_branch text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                pushed_at timestamptz,
                deleted_at timestamptz
            )
            """,
            "CREATE UNIQUE INDEX repositories_owner_name_key ON repositories (owner_id, lower(name)) WHERE deleted_at IS NULL",
            "CREATE INDEX repositories_public_created ON repositories (created_at DESC) WHERE deleted_at IS NULL AND NOT is_private",
            """
            CREATE TABLE collaborators (
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                permission text NOT NULL CHECK (permission IN ('read', 'write', 'admin')),
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (repository_id, user_id)
            )
            """,
            "CREATE INDEX collaborators_user ON collaborators (user_id)",
        ]),
        Migration(3, "cache versions and explore order", [
            // Bumped on every change a page shows (pushes, settings, collaborators): cached
            // fragments are keyed by it, so a bump retires them all at once.
            "ALTER TABLE repositories ADD COLUMN cache_version bigint NOT NULL DEFAULT 1",
            "CREATE INDEX repositories_public_pushed ON repositories (pushed_at DESC NULLS LAST) WHERE deleted_at IS NULL AND NOT is_private",
            "CREATE INDEX repositories_owner ON repositories (owner_id) WHERE deleted_at IS NULL",
        ]),
        Migration(4, "webhooks, deliveries and repository figures", [
            """
            ALTER TABLE repositories
                ADD COLUMN size_bytes bigint NOT NULL DEFAULT 0,
                ADD COLUMN commit_count bigint NOT NULL DEFAULT 0,
                ADD COLUMN languages text NOT NULL DEFAULT '{}'
            """,
            """
            CREATE TABLE webhooks (
                id bigserial PRIMARY KEY,
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                url text NOT NULL,
                secret text NOT NULL DEFAULT '',
                content_type text NOT NULL DEFAULT 'json' CHECK (content_type IN ('json', 'form')),
                events text[] NOT NULL DEFAULT '{push}',
                active boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX webhooks_repository ON webhooks (repository_id)",
            // One payload sent to one hook; `guid` is the delivery id receivers see, derived
            // from the task that made it so that a task run twice makes it once.
            """
            CREATE TABLE webhook_deliveries (
                id bigserial PRIMARY KEY,
                guid uuid NOT NULL UNIQUE,
                hook_id bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
                event text NOT NULL,
                payload text NOT NULL,
                redelivery boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ok', 'failed')),
                attempts integer NOT NULL DEFAULT 0,
                status_code integer,
                duration_ms integer,
                delivered_at timestamptz,
                request_headers text,
                response_headers text,
                response_body text,
                error text
            )
            """,
            "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (hook_id, id DESC)",
            // Every try of a delivery, with what came back.
            """
            CREATE TABLE webhook_attempts (
                delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
                attempt integer NOT NULL,
                started_at timestamptz NOT NULL,
                duration_ms integer NOT NULL,
                status_code integer,
                response_headers text,
                response_body text,
                error text,
                PRIMARY KEY (delivery_id, attempt)
            )
            """,
        ]),
        Migration(5, "mail preferences", [
            // The kinds of account mail (`MailKind`) the user unsubscribed from.
            "ALTER TABLE users ADD COLUMN mail_opt_out text[] NOT NULL DEFAULT '{}'",
        ]),
        Migration(6, "site growth by day", [
            "CREATE INDEX users_created_at ON users (created_at)",
            "CREATE INDEX repositories_created_at ON repositories (created_at)",
        ]),
        Migration(7, "Git LFS objects", [
            // An LFS object a repository has (uploaded and verified); its body is the blob `oid`.
            """
            CREATE TABLE lfs_objects (
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                oid text NOT NULL,
                size bigint NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (repository_id, oid)
            )
            """,
            "CREATE INDEX lfs_objects_oid ON lfs_objects (oid)",
        ]),
        Migration(8, "blob references", phase: .contract, [
            // Every use of a blob by a repository: LFS objects (name = oid), downloads
            // (name = file name) and archives (name = `<commit>/<file name>`). The garbage
            // collector removes blobs no live repository uses.
            """
            CREATE TABLE repository_blobs (
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                kind text NOT NULL CHECK (kind IN ('lfs', 'download', 'archive')),
                name text NOT NULL,
                sha256 text NOT NULL,
                size bigint NOT NULL,
                uploader_id bigint REFERENCES users (id) ON DELETE SET NULL,
                download_count bigint NOT NULL DEFAULT 0,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (repository_id, kind, name)
            )
            """,
            "CREATE INDEX repository_blobs_sha256 ON repository_blobs (sha256)",
            "INSERT INTO repository_blobs (repository_id, kind, name, sha256, size, created_at) SELECT repository_id, 'lfs', oid, oid, size, created_at FROM lfs_objects",
            "DROP TABLE lfs_objects",
        ]),
        Migration(9, "error reports", [
            // Unhandled errors, one row per fingerprint (the error's type and the route it
            // came from), with the most recent occurrence's request.
            """
            CREATE TABLE error_reports (
                id bigserial PRIMARY KEY,
                fingerprint text NOT NULL UNIQUE,
                error_type text NOT NULL,
                site text NOT NULL,
                message text NOT NULL,
                details text NOT NULL,
                count bigint NOT NULL DEFAULT 1,
                first_seen timestamptz NOT NULL DEFAULT now(),
                last_seen timestamptz NOT NULL DEFAULT now(),
                last_request text NOT NULL,
                last_user_id bigint,
                last_request_id text NOT NULL
            )
            """,
            "CREATE INDEX error_reports_last_seen ON error_reports (last_seen DESC)",
        ]),
        Migration(10, "social sets", [
            // The source of truth of the social sets that Redis mirrors (`SocialGraph`).
            """
            CREATE TABLE stars (
                user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (repository_id, user_id)
            )
            """,
            "CREATE INDEX stars_user ON stars (user_id)",
            """
            CREATE TABLE watches (
                user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (repository_id, user_id)
            )
            """,
            "CREATE INDEX watches_user ON watches (user_id)",
            """
            CREATE TABLE follows (
                follower_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                followee_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (followee_id, follower_id),
                CHECK (follower_id <> followee_id)
            )
            """,
            "CREATE INDEX follows_follower ON follows (follower_id)",
        ]),
        Migration(11, "explore ordered by the full sort key", [
            // Explore sorts by time and then id; indexes on the time alone made PostgreSQL sort
            // every public repository (found by the query-plan test).
            "CREATE INDEX repositories_public_created_id ON repositories (created_at DESC, id DESC) WHERE deleted_at IS NULL AND NOT is_private",
            "CREATE INDEX repositories_public_pushed_id ON repositories (pushed_at DESC NULLS LAST, id DESC) WHERE deleted_at IS NULL AND NOT is_private",
            "DROP INDEX repositories_public_created",
            "DROP INDEX repositories_public_pushed",
        ]),
        Migration(12, "incidents", [
            // Notes for the public status page, posted by operators (`cairnctl incident`).
            """
            CREATE TABLE incidents (
                id bigserial PRIMARY KEY,
                message text NOT NULL,
                level text NOT NULL CHECK (level IN ('minor', 'major')),
                created_at timestamptz NOT NULL DEFAULT now(),
                resolved_at timestamptz
            )
            """,
            "CREATE INDEX incidents_created_at ON incidents (created_at DESC)",
        ]),
        Migration(13, "repository settings versions", [
            // Carried by the settings form so that a stale save is refused (no lost updates).
            "ALTER TABLE repositories ADD COLUMN settings_version bigint NOT NULL DEFAULT 1",
        ]),
        Migration(14, "user cache versions", [
            // Bumped whenever one of the user's repositories appears, goes, or changes how it
            // shows in a list (name, description, visibility, last push): the fragments of the
            // user's own pages are keyed by it. A trigger, so that no write can forget it.
            "ALTER TABLE users ADD COLUMN cache_version bigint NOT NULL DEFAULT 1",
            """
            CREATE FUNCTION bump_owner_cache_version() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE users SET cache_version = cache_version + 1 WHERE id = NEW.owner_id;
                IF TG_OP = 'UPDATE' AND OLD.owner_id <> NEW.owner_id THEN
                    UPDATE users SET cache_version = cache_version + 1 WHERE id = OLD.owner_id;
                END IF;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER repositories_bump_owner_cache_version
            AFTER INSERT OR UPDATE OF owner_id, name, description, is_private, pushed_at, deleted_at, cache_version ON repositories
            FOR EACH ROW EXECUTE FUNCTION bump_owner_cache_version()
            """,
        ]),
        Migration(15, "retired sessions", [
            // Sessions signed out on the server: their signed cookie is refused until it would
            // have expired anyway (30 days), when the row may go.
            """
            CREATE TABLE retired_sessions (
                nonce text PRIMARY KEY,
                user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                retired_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX retired_sessions_user ON retired_sessions (user_id, retired_at)",
        ]),
        Migration(16, "blob last use", [
            // When a blob was last handed out (null: never since it was recorded). Archives
            // nobody asked for in a while are dropped by `cairnctl gc`; they are rebuilt on
            // the next request.
            "ALTER TABLE repository_blobs ADD COLUMN last_used_at timestamptz",
        ]),
        Migration(17, "forks", [
            // The repository a fork was made from; a parent removed for good leaves its forks
            // standing, parentless.
            "ALTER TABLE repositories ADD COLUMN parent_id bigint REFERENCES repositories (id) ON DELETE SET NULL",
            "CREATE INDEX repositories_parent ON repositories (parent_id) WHERE parent_id IS NOT NULL",
        ]),
        Migration(18, "pull requests", [
            // Numbers are per base repository, handed out by its counter.
            "ALTER TABLE repositories ADD COLUMN pull_counter bigint NOT NULL DEFAULT 0",
            """
            CREATE TABLE pull_requests (
                id bigserial PRIMARY KEY,
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                number bigint NOT NULL,
                author_id bigint NOT NULL REFERENCES users (id),
                title text NOT NULL,
                body text NOT NULL DEFAULT '',
                head_repository_id bigint REFERENCES repositories (id) ON DELETE SET NULL,
                head_ref text NOT NULL,
                base_ref text NOT NULL,
                state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
                head_sha text NOT NULL DEFAULT '',
                base_sha text NOT NULL DEFAULT '',
                mergeable boolean,
                conflicts text[] NOT NULL DEFAULT '{}',
                merge_test_sha text,
                commit_count integer NOT NULL DEFAULT 0,
                merged_at timestamptz,
                merged_by bigint REFERENCES users (id),
                merge_commit_sha text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                closed_at timestamptz,
                UNIQUE (repository_id, number)
            )
            """,
            // The push task finds the open pull requests a push moved, by head and by base.
            "CREATE INDEX pull_requests_open_head ON pull_requests (head_repository_id, head_ref) WHERE state = 'open'",
            "CREATE INDEX pull_requests_open_base ON pull_requests (repository_id, base_ref) WHERE state = 'open'",
            // One open pull request per head and base, as on GitHub.
            "CREATE UNIQUE INDEX pull_requests_one_open ON pull_requests (repository_id, head_repository_id, head_ref, base_ref) WHERE state = 'open'",
            "CREATE INDEX pull_requests_author ON pull_requests (author_id)",
            """
            CREATE TABLE pull_reviews (
                id bigserial PRIMARY KEY,
                pull_request_id bigint NOT NULL REFERENCES pull_requests (id) ON DELETE CASCADE,
                author_id bigint NOT NULL REFERENCES users (id),
                state text NOT NULL CHECK (state IN ('APPROVED', 'CHANGES_REQUESTED', 'COMMENTED')),
                body text NOT NULL DEFAULT '',
                commit_sha text NOT NULL,
                submitted_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX pull_reviews_pull ON pull_reviews (pull_request_id, id)",
            // A comment on the conversation (no path), or on one line of the diff: anchored to
            // the commit it was made on, the file, the side (LEFT old, RIGHT new) and the line.
            """
            CREATE TABLE pull_comments (
                id bigserial PRIMARY KEY,
                pull_request_id bigint NOT NULL REFERENCES pull_requests (id) ON DELETE CASCADE,
                author_id bigint NOT NULL REFERENCES users (id),
                review_id bigint REFERENCES pull_reviews (id) ON DELETE CASCADE,
                body text NOT NULL,
                commit_sha text,
                path text,
                side text CHECK (side IN ('LEFT', 'RIGHT')),
                line integer CHECK (line > 0),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                CHECK ((path IS NULL) = (line IS NULL) AND (path IS NULL) = (side IS NULL) AND (path IS NULL) = (commit_sha IS NULL))
            )
            """,
            "CREATE INDEX pull_comments_pull ON pull_comments (pull_request_id, id)",
            "CREATE INDEX pull_comments_review ON pull_comments (review_id) WHERE review_id IS NOT NULL",
        ]),
        Migration(19, "requested reviewers", [
            // Whose review a pull request waits for: asked by its author or a writer, or by the
            // base branch's CODEOWNERS for the paths it changes. A review submitted ends the request.
            """
            CREATE TABLE pull_review_requests (
                pull_request_id bigint NOT NULL REFERENCES pull_requests (id) ON DELETE CASCADE,
                user_id bigint NOT NULL REFERENCES users (id),
                from_code_owners boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (pull_request_id, user_id)
            )
            """,
            "CREATE INDEX pull_review_requests_user ON pull_review_requests (user_id)",
        ]),
        Migration(20, "commit statuses", [
            // What CI reported about a commit, every report kept (GitHub's history); the
            // newest of each context is the commit's state in it.
            """
            CREATE TABLE commit_statuses (
                id bigserial PRIMARY KEY,
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                sha text NOT NULL CHECK (sha ~ '^[0-9a-f]{40}$'),
                state text NOT NULL CHECK (state IN ('pending', 'success', 'failure', 'error')),
                context text NOT NULL CHECK (length(context) BETWEEN 1 AND 255),
                description text CHECK (length(description) <= 140),
                target_url text CHECK (length(target_url) <= 2048),
                creator_id bigint REFERENCES users (id) ON DELETE SET NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX commit_statuses_commit ON commit_statuses (repository_id, sha, id DESC)",
            // A push reads the repository's newest reports (CommitStatusStore.passing).
            "CREATE INDEX commit_statuses_recent ON commit_statuses (repository_id, id DESC)",
            // Keys the cached pages that show statuses (history, commit, branches), which change without a push.
            "ALTER TABLE repositories ADD COLUMN status_version bigint NOT NULL DEFAULT 1",
        ]),
        Migration(21, "protected branches", [
            // What may happen to the branches a pattern matches (BranchRule); enforced by the
            // repository store's pre-receive hook and before its merges.
            """
            CREATE TABLE branch_protections (
                id bigserial PRIMARY KEY,
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                pattern text NOT NULL CHECK (length(pattern) BETWEEN 1 AND 255),
                required_approvals integer CHECK (required_approvals BETWEEN 0 AND 10),
                require_code_owner_reviews boolean NOT NULL DEFAULT false,
                required_contexts text[] NOT NULL DEFAULT '{}',
                pushers bigint[],
                allow_force_pushes boolean NOT NULL DEFAULT false,
                allow_deletions boolean NOT NULL DEFAULT false,
                require_up_to_date boolean NOT NULL DEFAULT false,
                enforce_admins boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (repository_id, pattern)
            )
            """,
        ]),
        Migration(22, "repository tokens", [
            // Tokens for machines (CI) bound to one repository, read or write, acting for the
            // admin who made them and never beyond that admin's own permission.
            """
            CREATE TABLE repository_tokens (
                id bigserial PRIMARY KEY,
                repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                token_hash text NOT NULL,
                permission text NOT NULL CHECK (permission IN ('read', 'write')),
                created_by bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz,
                revoked_at timestamptz
            )
            """,
            "CREATE UNIQUE INDEX repository_tokens_hash_key ON repository_tokens (token_hash)",
            "CREATE INDEX repository_tokens_repository ON repository_tokens (repository_id, id)",
        ]),
        Migration(23, "ssh keys", [
            // A person's keys, and keys for machines bound to one repository (deploy keys). A key
            // (its fingerprint) belongs to one person or one repository, never two.
            """
            CREATE TABLE ssh_keys (
                id bigserial PRIMARY KEY,
                user_id bigint REFERENCES users (id) ON DELETE CASCADE,
                repository_id bigint REFERENCES repositories (id) ON DELETE CASCADE,
                title text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
                public_key text NOT NULL,
                fingerprint text NOT NULL,
                read_only boolean NOT NULL DEFAULT false,
                added_by bigint REFERENCES users (id) ON DELETE SET NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz,
                CHECK ((user_id IS NULL) <> (repository_id IS NULL))
            )
            """,
            "CREATE UNIQUE INDEX ssh_keys_fingerprint_key ON ssh_keys (fingerprint)",
            "CREATE INDEX ssh_keys_user ON ssh_keys (user_id, id) WHERE user_id IS NOT NULL",
            "CREATE INDEX ssh_keys_repository ON ssh_keys (repository_id, id) WHERE repository_id IS NOT NULL",
        ]),
        Migration(24, "directory notifications", [
            // Every change to what a repository looked up by name shows (the columns of its row
            // that `RepositoryStore.select` reads; its owner's or its parent's owner's name) is
            // announced on channel `cairn_directory` at commit, with the table's schema, so
            // gateways can keep those lookups in memory (`RepositoryDirectory`).
            """
            CREATE FUNCTION cairn_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('cairn_directory', TG_TABLE_SCHEMA);
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER repositories_directory
            AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF owner_id, name, description, is_private, default_branch, created_at, updated_at,
                pushed_at, cache_version, settings_version, parent_id, status_version, deleted_at
            ON repositories FOR EACH STATEMENT EXECUTE FUNCTION cairn_directory_changed()
            """,
            "CREATE TRIGGER users_directory AFTER UPDATE OF username OR DELETE OR TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION cairn_directory_changed()",
        ]),
    ]
}
