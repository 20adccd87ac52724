-- Column mappings kept under a name (`stockwatch layouts save`): a file is mapped once.
CREATE TABLE saved_layouts (
    name TEXT PRIMARY KEY,
    columns TEXT NOT NULL,
    store TEXT,
    saved_at TEXT NOT NULL,
    saved_by TEXT NOT NULL DEFAULT ''
);
