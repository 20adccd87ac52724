-- Store systems export oversold items with negative counts: they are out of stock too, so
-- the partial index that finds an upload's out-of-stock changes covers counts below zero.
DROP INDEX changes_at_zero;
CREATE INDEX changes_at_zero ON changes (seq) WHERE new_count <= 0 OR old_count <= 0;
