-- How an upload's file is to be read (a store system's layout, a column mapping, the store
-- of a one-store file), as JSON: NULL for stockwatch's own layout found from the header.
ALTER TABLE uploads ADD COLUMN reading TEXT;
