-- reportd catalog, SQLite, version 3: the cluster key columns and table of a shared
-- PostgreSQL catalog, kept here too so that both backends have the same schema versions (an
-- embedded catalog is one node: its instance key plays the cluster key's part).
ALTER TABLE cluster_nodes ADD COLUMN public_key  BLOB;
ALTER TABLE cluster_nodes ADD COLUMN sealed_key  BLOB;
ALTER TABLE cluster_nodes ADD COLUMN key_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE cluster_keys (
    version     INTEGER PRIMARY KEY NOT NULL,
    check_value TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    is_current  INTEGER NOT NULL
);
CREATE UNIQUE INDEX cluster_keys_one_current ON cluster_keys (is_current) WHERE is_current;
