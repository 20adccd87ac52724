-- Uploads: every file received, its version (the id, monotonic in this data directory) and report.
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    filename TEXT NOT NULL,
    object_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    strict INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN
        ('queued', 'processing', 'loaded', 'loaded_with_errors', 'rejected')),
    received_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    report TEXT
);
CREATE INDEX uploads_pending ON uploads (id) WHERE status IN ('queued', 'processing');

-- The inventory table. version/line: the newest upload that asserted this count (and where);
-- upload_id: the upload that last changed it (its started_at says when). Times live on the
-- upload rather than on each row: a million-row upload then writes a third less.
CREATE TABLE inventory (
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    count INTEGER NOT NULL,
    version INTEGER NOT NULL,
    line INTEGER NOT NULL,
    upload_id INTEGER NOT NULL,
    PRIMARY KEY (store, item)
) WITHOUT ROWID;

-- The change feed: every change of a count, in order (the twin of a DynamoDB stream).
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY,
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    old_count INTEGER,
    new_count INTEGER NOT NULL,
    upload_id INTEGER NOT NULL
);
CREATE INDEX changes_by_item ON changes (store, item);
-- The few changes that touch zero: what out-of-stock alerts are decided from, found without
-- reading a million-row upload's changes again.
CREATE INDEX changes_at_zero ON changes (seq) WHERE new_count = 0 OR old_count = 0;

CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('out_of_stock', 'back_in_stock', 'low_stock')),
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    count INTEGER NOT NULL,
    minimum INTEGER,
    upload_id INTEGER,
    raised_at TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by_upload INTEGER
);
-- At most one open alert of a kind per item: the database backs the transition rule.
CREATE UNIQUE INDEX alerts_open ON alerts (store, item, kind) WHERE resolved_at IS NULL;
CREATE INDEX alerts_by_upload ON alerts (upload_id);

CREATE TABLE thresholds (
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    minimum INTEGER NOT NULL CHECK (minimum >= 0),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (store, item)
) WITHOUT ROWID;

-- Notifications waiting to be delivered, one per upload per channel.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    upload_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    claimed_until TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (upload_id, channel)
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';
