-- Retention: a stored file removed after its keeping time is recorded, so check and backup
-- know it is gone on purpose; its upload, report and alerts stay.
ALTER TABLE uploads ADD COLUMN file_removed_at TEXT;
CREATE INDEX changes_by_item_seq ON changes (store, item, seq)
