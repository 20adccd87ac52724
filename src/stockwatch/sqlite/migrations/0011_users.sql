-- People with roles, each with a token of their own kept only as its SHA-256, and the audit
-- trail of who changed what.
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'store', 'viewer')),
    stores TEXT,  -- a JSON list; NULL is every store
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    rotated_at TEXT,
    revoked_at TEXT
) WITHOUT ROWID;
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_by_time ON audit (at)
