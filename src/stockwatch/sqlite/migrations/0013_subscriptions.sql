-- Subscriptions: an email address or a webhook URL, about some stores and alert kinds (JSON
-- lists; NULL: all). Each gets its own digest through the outbox, as channel sub:<id>.
CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    target TEXT NOT NULL,
    stores TEXT,
    kinds TEXT,
    owner TEXT NOT NULL,
    created_at TEXT NOT NULL
);
