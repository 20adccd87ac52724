-- Days of cover: a threshold may ask for running_out alerts (cover_days), and alerts of
-- that kind keep the cover they were raised at. Alerts can be acknowledged (by whom, when,
-- with a note), and items muted until a time. SQLite cannot change a CHECK constraint, so
-- the alerts table is rebuilt with the new kind.
ALTER TABLE thresholds ADD COLUMN cover_days INTEGER CHECK (cover_days IS NULL OR cover_days >= 0);
CREATE TABLE alerts_v5 (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL
        CHECK (kind IN ('out_of_stock', 'back_in_stock', 'low_stock', 'running_out')),
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    count INTEGER NOT NULL,
    minimum INTEGER,
    upload_id INTEGER,
    raised_at TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by_upload INTEGER,
    days_of_cover REAL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    ack_note TEXT
);
INSERT INTO alerts_v5 (id, kind, store, item, count, minimum, upload_id, raised_at,
    resolved_at, resolved_by_upload)
SELECT id, kind, store, item, count, minimum, upload_id, raised_at, resolved_at,
    resolved_by_upload FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_v5 RENAME TO alerts;
CREATE UNIQUE INDEX alerts_open ON alerts (store, item, kind) WHERE resolved_at IS NULL;
CREATE INDEX alerts_by_upload ON alerts (upload_id);
CREATE INDEX alerts_by_store ON alerts (store, resolved_at);
CREATE TABLE mutes (
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    until TEXT NOT NULL,
    muted_by TEXT NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (store, item)
) WITHOUT ROWID
