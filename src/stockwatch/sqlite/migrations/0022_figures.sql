-- Kept demand figures (#30, core.figures): each item's running sums over its history, moved
-- on in the same statement that writes a changed count (sqlite.inventory_table), so a stock
-- page or an order list reads them instead of the history. fig_at: when the count they
-- include was taken (ms since the epoch). A NULL sum is 0 (a first count writes none).
ALTER TABLE inventory ADD COLUMN fig_at INTEGER;
ALTER TABLE inventory ADD COLUMN fig_counts INTEGER;
ALTER TABLE inventory ADD COLUMN fig_intervals INTEGER;
ALTER TABLE inventory ADD COLUMN fig_span REAL;
ALTER TABLE inventory ADD COLUMN fig_days REAL;
ALTER TABLE inventory ADD COLUMN fig_units REAL;
ALTER TABLE inventory ADD COLUMN fig_units_sq REAL;
ALTER TABLE inventory ADD COLUMN fig_cross REAL;
ALTER TABLE inventory ADD COLUMN fig_days_sq REAL;
ALTER TABLE inventory ADD COLUMN fig_demand_days REAL;

-- The figures of the history already kept (the week of changes and the history table;
-- years thinned into history_archive weigh under 1/16 and are left out), folded as
-- core.figures.advance folds them: each interval between consecutive counts, usable when
-- it starts above zero and does not rise, weighted by 2^(-age/14 days) from the last count.
WITH points AS (
    SELECT store, item, counted, seq, new_count AS count FROM changes WHERE counted IS NOT NULL
    UNION
    SELECT store, item, counted, seq, count FROM history
),
intervals AS (
    SELECT store, item, counted, count,
           lag(counted) OVER w AS t0,
           lag(count) OVER w AS c0,
           max(counted) OVER (PARTITION BY store, item) AS last
    FROM points
    WINDOW w AS (PARTITION BY store, item ORDER BY counted, seq)
),
terms AS (
    SELECT store, item, last, t0, counted,
           CASE WHEN t0 IS NOT NULL AND counted > t0 AND c0 > 0 AND count <= c0
                THEN 1 ELSE 0 END AS ok,
           (counted - t0) / 86400000.0 AS e,
           c0 - count AS d,
           pow(2.0, -((last - counted) / 86400000.0) / 14.0) AS w
    FROM intervals
),
sums AS (
    SELECT store, item, max(last) AS at,
           count(*) - sum(CASE WHEN t0 IS NOT NULL AND counted <= t0 THEN 1 ELSE 0 END)
               AS counts,
           sum(ok) AS intervals,
           sum(ok * e) AS span,
           sum(ok * w * e) AS days,
           sum(ok * w * d) AS units,
           sum(ok * w * d * d) AS units_sq,
           sum(ok * w * d * e) AS cross_,
           sum(ok * w * e * e) AS days_sq,
           sum(CASE WHEN ok AND d > 0 THEN w * e ELSE 0 END) AS demand_days
    FROM terms GROUP BY store, item
)
UPDATE inventory SET
    fig_at = s.at, fig_counts = s.counts, fig_intervals = s.intervals, fig_span = s.span,
    fig_days = s.days, fig_units = s.units, fig_units_sq = s.units_sq, fig_cross = s.cross_,
    fig_days_sq = s.days_sq, fig_demand_days = s.demand_days
FROM sums AS s WHERE s.store = inventory.store AND s.item = inventory.item;

-- Upper bounds of each item's daily demand and deviation however long its count then stays
-- (core.figures.bounds): what the order list filters on without each item's latest time.
ALTER TABLE inventory ADD COLUMN fig_dmax REAL;
ALTER TABLE inventory ADD COLUMN fig_sdmax REAL;
UPDATE inventory SET
    fig_dmax = fig_units / fig_days,
    fig_sdmax = sqrt(max(0,
        max(fig_units_sq, fig_units_sq - 2 * (fig_units / fig_days) * fig_cross
            + (fig_units / fig_days) * (fig_units / fig_days) * fig_days_sq) / fig_days
        + 4.0 / 27.0 * (fig_units / fig_days) * (fig_units / fig_days) * fig_days))
WHERE fig_days > 0;
