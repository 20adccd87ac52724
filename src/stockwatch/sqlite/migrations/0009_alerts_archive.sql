-- Alerts resolved before the full-history window ends move here, packed per store and
-- year by sqlite.archive (compressed JSON: a year of a store's alerts in one value); the
-- alerts table keeps what is open and the last 90 days. max_id lets a listing that is
-- newest first skip every blob it would not reach.
CREATE TABLE alerts_archive (
    store TEXT NOT NULL,
    year INTEGER NOT NULL,
    max_id INTEGER NOT NULL,
    alerts BLOB NOT NULL,
    PRIMARY KEY (store, year)
) WITHOUT ROWID
