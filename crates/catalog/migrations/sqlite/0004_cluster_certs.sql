-- reportd catalog, SQLite, version 4: the cluster certificate store and cluster ACME state,
-- kept here too so that both backends have the same schema versions (an embedded catalog is
-- one node: `--store Cluster` is refused and these tables stay empty).
CREATE TABLE cluster_certs (
    thumbprint    TEXT PRIMARY KEY,
    names         TEXT NOT NULL,
    not_before    TEXT NOT NULL,
    not_after     TEXT NOT NULL,
    chain_pem     TEXT NOT NULL,
    sealed_key    BLOB NOT NULL,
    key_version   INTEGER NOT NULL DEFAULT 0,
    friendly_name TEXT,
    created_at    TEXT NOT NULL
);
CREATE TABLE cluster_cert_version (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO cluster_cert_version (id, value) VALUES (1, 0);
CREATE TABLE acme_challenges (
    token             TEXT PRIMARY KEY,
    key_authorization TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE TABLE cluster_cert_sources (
    id             TEXT PRIMARY KEY,
    source         TEXT NOT NULL,
    sealed_account BLOB,
    key_version    INTEGER NOT NULL DEFAULT 0
);
