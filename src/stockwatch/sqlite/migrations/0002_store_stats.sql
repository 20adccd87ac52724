-- Per-store figures for the dashboard, kept up to date by each upload's transaction so that
-- listing stores never counts a million rows.
CREATE TABLE store_stats (
    store TEXT PRIMARY KEY,
    items INTEGER NOT NULL,
    out_of_stock INTEGER NOT NULL,
    low_stock INTEGER NOT NULL,
    upload_id INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO store_stats (store, items, out_of_stock, low_stock, upload_id)
SELECT i.store, count(*),
       (SELECT count(*) FROM alerts AS a WHERE a.store = i.store AND a.kind = 'out_of_stock'
        AND a.resolved_at IS NULL),
       (SELECT count(*) FROM alerts AS a WHERE a.store = i.store AND a.kind = 'low_stock'
        AND a.resolved_at IS NULL),
       max(i.upload_id)
FROM inventory AS i GROUP BY i.store;
