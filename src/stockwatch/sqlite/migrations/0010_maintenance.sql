-- When each piece of upkeep last ran, so that "once a day" survives restarts: a server
-- restarted every night would otherwise never reach its daily retention.
CREATE TABLE maintenance (
    name TEXT PRIMARY KEY,
    last_run TEXT NOT NULL
) WITHOUT ROWID
