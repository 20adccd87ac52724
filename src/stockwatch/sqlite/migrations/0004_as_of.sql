-- Counts with a date: an upload may say when it was counted (as_of; NULL means when it
-- arrived), and versions become "<as-of>#<zero-padded id>" text, ordered by (as-of, arrival).
ALTER TABLE uploads ADD COLUMN as_of TEXT;
UPDATE inventory SET version = coalesce(
    (SELECT u.received_at FROM uploads AS u WHERE u.id = inventory.version),
    '1970-01-01T00:00:00.000Z') || '#' || printf('%012d', version)
WHERE typeof(version) = 'integer'
