-- Each webhook subscription signs its bodies with a secret of its own (shown once when it
-- is made), never the server's.
ALTER TABLE subscriptions ADD COLUMN secret TEXT
