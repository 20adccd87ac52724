-- What to order (#30): the ordering settings per (store, item), `*` for all, a NULL field
-- left to the broader entries; and the orders placed, open until received.
CREATE TABLE ordering_settings (
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    lead_days REAL,
    review_days REAL,
    service_level REAL,
    pack INTEGER,
    min_order INTEGER,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (store, item)
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    store TEXT NOT NULL,
    item TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    expected TEXT,
    placed_at TEXT NOT NULL,
    placed_by TEXT NOT NULL DEFAULT '',
    received_at TEXT,
    received_by TEXT
);
CREATE INDEX orders_open ON orders (store, item) WHERE received_at IS NULL;
