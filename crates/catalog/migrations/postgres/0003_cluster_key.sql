-- reportd catalog, PostgreSQL, version 3: the cluster key (see src/clusterkey.rs).
-- One AES-256-GCM key for the whole cluster, never stored in clear: each joined node's row
-- holds it sealed to that node's X25519 public key (the node's private key is derived from
-- its data dir's instance key, so only that node can open its copy). cluster_keys lists the
-- key versions with a check value (an HMAC of a constant, reveals nothing), no key material.
ALTER TABLE cluster_nodes ADD COLUMN public_key  BYTEA;
ALTER TABLE cluster_nodes ADD COLUMN sealed_key  BYTEA;
ALTER TABLE cluster_nodes ADD COLUMN key_version BIGINT NOT NULL DEFAULT 0;

CREATE TABLE cluster_keys (
    version     BIGINT PRIMARY KEY,
    check_value TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL,
    is_current  BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX cluster_keys_one_current ON cluster_keys (is_current) WHERE is_current;
