-- Snapshot uploads: an upload may say it is a full snapshot of the stores it names (NULL:
-- as each store's setting says), and one that would zero more than half of a store is held
-- as needs_confirmation. SQLite cannot change a CHECK constraint: uploads is rebuilt.
CREATE TABLE uploads_v6 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    filename TEXT NOT NULL,
    object_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    strict INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN
        ('queued', 'processing', 'loaded', 'loaded_with_errors', 'rejected',
         'needs_confirmation')),
    received_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    report TEXT,
    as_of TEXT,
    snapshot INTEGER
);
INSERT INTO uploads_v6 (id, filename, object_key, size, sha256, strict, status, received_at,
    started_at, finished_at, attempts, report, as_of)
SELECT id, filename, object_key, size, sha256, strict, status, received_at, started_at,
    finished_at, attempts, report, as_of FROM uploads;
DROP TABLE uploads;
ALTER TABLE uploads_v6 RENAME TO uploads;
CREATE INDEX uploads_pending ON uploads (id) WHERE status IN ('queued', 'processing');
CREATE TABLE store_settings (
    store TEXT PRIMARY KEY,
    snapshot INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
) WITHOUT ROWID
