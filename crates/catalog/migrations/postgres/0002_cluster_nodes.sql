-- reportd catalog, PostgreSQL, version 2: the nodes sharing this database (see src/nodes.rs).
-- One row per installation (data dir); boot_id changes on every start, so a second process
-- with the same installation (a copied data dir) is told apart from a restart. last_seen is
-- the database clock at the node's last heartbeat (NULL once it stopped).
CREATE TABLE cluster_nodes (
    installation_id    TEXT PRIMARY KEY,
    host               TEXT NOT NULL,
    pid                BIGINT NOT NULL,
    boot_id            TEXT NOT NULL,
    urls               TEXT NOT NULL DEFAULT '',
    version            TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('waiting', 'joined', 'removed')),
    first_seen         TIMESTAMPTZ NOT NULL,
    last_seen          TIMESTAMPTZ,
    applied_generation BIGINT NOT NULL DEFAULT 0,
    binding_version    BIGINT NOT NULL DEFAULT 0,
    serving            TEXT NOT NULL DEFAULT ''
);
