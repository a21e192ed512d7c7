-- reportd catalog, SQLite, version 2: the node table of a shared PostgreSQL catalog, kept
-- here too so that both backends have the same schema versions (an embedded catalog has one
-- node and never fills it).
CREATE TABLE cluster_nodes (
    installation_id    TEXT PRIMARY KEY,
    host               TEXT NOT NULL,
    pid                INTEGER NOT NULL,
    boot_id            TEXT NOT NULL,
    urls               TEXT NOT NULL DEFAULT '',
    version            TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('waiting', 'joined', 'removed')),
    first_seen         TEXT NOT NULL,
    last_seen          TEXT,
    applied_generation INTEGER NOT NULL DEFAULT 0,
    binding_version    INTEGER NOT NULL DEFAULT 0,
    serving            TEXT NOT NULL DEFAULT ''
);
