-- What store systems' exports say about an item besides its count (`core.details`).
-- Each store's SKUs as one record: its items and their SKUs as two packed columns (each
-- value's UTF-8 length as int32, then the bytes of all values: `core.details.SkuColumns`),
-- the digest of the last file's SKUs for the store, and the version of the upload that
-- wrote it. A re-upload with the same SKUs compares one digest per store and writes
-- nothing; a row per SKU cost more than loading the counts (1.9 s per 1,000,000 rows).
CREATE TABLE store_skus (
    store TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    item_lengths BLOB NOT NULL,
    items BLOB NOT NULL,
    sku_lengths BLOB NOT NULL,
    skus BLOB NOT NULL
);

-- A threshold a file set (Square's alert count, Lightspeed's reorder point, a mapped min
-- column) carries the version of its upload; one set by hand has none, and a file never
-- overwrites it.
ALTER TABLE thresholds ADD COLUMN file_version TEXT;
