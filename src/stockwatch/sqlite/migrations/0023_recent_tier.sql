-- A re-upload costs what changed (#28). The counts a re-upload changes are spread over every
-- store, so updating them in place touched nearly every page of the inventory and of the
-- change feed's item index, however few they were. They now go to a small tier instead:
-- the changed rows of stores that matched their records (sqlite/store_records.py) are
-- written to inventory_recent, and their changes enter the item index under tier 0. The
-- rows are folded into the main tier when they grow past a share of it (sqlite/tiers.py),
-- so a change is written into the big table once per fold, not once per upload; the
-- changes leave tier 0 as every change leaves the feed, for the history after a week.
--
-- Every read goes through the view that keeps the table's old name: an item's row in
-- inventory_recent, when it has one, stands for its row in inventory_main. Only the fast
-- path writes inventory_recent, and only rows of items already in inventory_main, so the
-- view is a left join and SQLite flattens it into the statements that read it.
ALTER TABLE inventory RENAME TO inventory_main;
CREATE TABLE inventory_recent (
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    count INTEGER NOT NULL,
    version INTEGER NOT NULL,
    line INTEGER NOT NULL,
    upload_id INTEGER NOT NULL,
    fig_at INTEGER, fig_counts INTEGER, fig_intervals INTEGER, fig_span REAL, fig_days REAL,
    fig_units REAL, fig_units_sq REAL, fig_cross REAL, fig_days_sq REAL,
    fig_demand_days REAL, fig_dmax REAL, fig_sdmax REAL,
    PRIMARY KEY (store, item)
) WITHOUT ROWID;
CREATE VIEW inventory AS
SELECT m.store AS store, m.item AS item,
    CASE WHEN r.store IS NULL THEN m.count ELSE r.count END AS count,
    CASE WHEN r.store IS NULL THEN m.version ELSE r.version END AS version,
    CASE WHEN r.store IS NULL THEN m.line ELSE r.line END AS line,
    CASE WHEN r.store IS NULL THEN m.upload_id ELSE r.upload_id END AS upload_id,
    CASE WHEN r.store IS NULL THEN m.fig_at ELSE r.fig_at END AS fig_at,
    CASE WHEN r.store IS NULL THEN m.fig_counts ELSE r.fig_counts END AS fig_counts,
    CASE WHEN r.store IS NULL THEN m.fig_intervals ELSE r.fig_intervals END AS fig_intervals,
    CASE WHEN r.store IS NULL THEN m.fig_span ELSE r.fig_span END AS fig_span,
    CASE WHEN r.store IS NULL THEN m.fig_days ELSE r.fig_days END AS fig_days,
    CASE WHEN r.store IS NULL THEN m.fig_units ELSE r.fig_units END AS fig_units,
    CASE WHEN r.store IS NULL THEN m.fig_units_sq ELSE r.fig_units_sq END AS fig_units_sq,
    CASE WHEN r.store IS NULL THEN m.fig_cross ELSE r.fig_cross END AS fig_cross,
    CASE WHEN r.store IS NULL THEN m.fig_days_sq ELSE r.fig_days_sq END AS fig_days_sq,
    CASE WHEN r.store IS NULL THEN m.fig_demand_days ELSE r.fig_demand_days END
        AS fig_demand_days,
    CASE WHEN r.store IS NULL THEN m.fig_dmax ELSE r.fig_dmax END AS fig_dmax,
    CASE WHEN r.store IS NULL THEN m.fig_sdmax ELSE r.fig_sdmax END AS fig_sdmax
FROM inventory_main AS m
LEFT JOIN inventory_recent AS r ON r.store = m.store AND r.item = m.item;
-- Every change so far is in the main tier; the item index leads with the tier, and the
-- statements that read an item's changes ask for both (tier IN (0, 1)).
ALTER TABLE changes ADD COLUMN tier INTEGER NOT NULL DEFAULT 1;
DROP INDEX changes_by_item_time;
CREATE INDEX changes_by_item_time ON changes (tier, store, item, counted);
