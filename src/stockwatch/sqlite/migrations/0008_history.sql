-- History leaves the change table. Every change carries when its count was taken (ms since
-- the epoch, from its upload's as-of time), and the item index is ordered by it. Retention
-- moves changes older than a week into history (every point, until the full-history window
-- ends) and then into history_archive (one point per item per step), so the table and the
-- index every upload writes to stay a week long, whatever the length of the history.
ALTER TABLE changes ADD COLUMN counted INTEGER;
UPDATE changes SET counted = (
    SELECT CAST(round((julianday(coalesce(u.as_of, u.received_at)) - 2440587.5) * 86400000) AS INTEGER)
    FROM uploads AS u WHERE u.id = changes.upload_id);
CREATE INDEX changes_by_item_time ON changes (store, item, counted);
DROP INDEX changes_by_item;
DROP INDEX changes_by_item_seq;
CREATE TABLE history (
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    counted INTEGER NOT NULL,
    seq INTEGER NOT NULL,  -- the change it was, which orders counts taken at one moment
    old_count INTEGER,
    count INTEGER NOT NULL,
    upload_id INTEGER NOT NULL,
    PRIMARY KEY (store, item, counted, seq)
) WITHOUT ROWID;
-- One row per item per year; its points (each step's last count) packed by sqlite.archive.
CREATE TABLE history_archive (
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    year INTEGER NOT NULL,
    points BLOB NOT NULL,
    PRIMARY KEY (store, item, year)
) WITHOUT ROWID
