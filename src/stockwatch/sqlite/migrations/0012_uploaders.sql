-- Who sent each upload, and the stores its rows could name (a JSON list; NULL: any store):
-- a store user's file loads only its own stores' rows, and it is checked where it is read.
ALTER TABLE uploads ADD COLUMN uploader TEXT;
ALTER TABLE uploads ADD COLUMN scope TEXT;
