-- The last counts of each store, as one record: a re-upload that lists a store's items in
-- the same order is compared with it as two arrays, and only the counts that differ are
-- written (sqlite/store_records.py). A record exists only while it covers every item of
-- its store in the inventory; its version is what every one of them was last counted at.
CREATE TABLE store_records (
    store TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    items INTEGER NOT NULL,
    digest BLOB NOT NULL,
    counts BLOB NOT NULL
) WITHOUT ROWID;
