-- What store systems' exports say about an item besides its count (`core.details`).
-- Its SKU, kept apart from the counts: most files have none, and a re-upload of the same
-- SKUs writes nothing. `version` is the upload's that set it, so a late older file never
-- overwrites a newer one's.
CREATE TABLE item_skus (
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    sku TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (store, item)
) WITHOUT ROWID;
CREATE INDEX item_skus_by_sku ON item_skus (sku);

-- A threshold a file set (Square's alert count, Lightspeed's reorder point, a mapped min
-- column) carries the version of its upload; one set by hand has none, and a file never
-- overwrites it.
ALTER TABLE thresholds ADD COLUMN file_version TEXT;
