-- Operations: what the backups did (deploy/run-backup.sh records each run, `crawler status`
-- shows the newest) and the API keys of external read-only access (api/access.py).

CREATE TABLE backup_run (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    status       text NOT NULL CHECK (status IN ('ok', 'failed')),
    file         text,                        -- the dump's path on the host that made it
    bytes        bigint,
    copied_to    text,                        -- BACKUP_COPY_TO, when the copy succeeded
    host         text NOT NULL DEFAULT '',
    error        text
);
CREATE INDEX backup_run_finished ON backup_run (finished_at DESC);

-- A key is shown once at creation; only its SHA-256 is kept (keys are 32 random bytes, so a
-- fast hash is enough: there is nothing to guess). The prefix lets `list` and logs tell keys apart.
CREATE TABLE api_key (
    id                   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    prefix               text NOT NULL UNIQUE,
    sha256               bytea NOT NULL UNIQUE,
    requests_per_minute  integer NOT NULL CHECK (requests_per_minute > 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    revoked_at           timestamptz
);
-- Keys are the admin's to manage; the crawler has no business with them.
REVOKE INSERT, UPDATE, DELETE ON api_key FROM energy_writer;
