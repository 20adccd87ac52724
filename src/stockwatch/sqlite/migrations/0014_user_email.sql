-- Where a user's own subscription ("notify me") sends its digests.
ALTER TABLE users ADD COLUMN email TEXT
