-- reportd catalog, PostgreSQL, version 4: the cluster certificate store (store `Cluster`)
-- and what ACME needs in a cluster (see src/clustercerts.rs).
-- cluster_certs: one row per certificate; the private key is sealed with the cluster key
-- (key_version says which), never stored in clear. cluster_cert_version is bumped by every
-- change of the store (with pg_notify('reportd_certs')), so nodes reload on the
-- notification and poll one number as the backstop.
CREATE TABLE cluster_certs (
    thumbprint    TEXT PRIMARY KEY,
    names         TEXT NOT NULL,
    not_before    TIMESTAMPTZ NOT NULL,
    not_after     TIMESTAMPTZ NOT NULL,
    chain_pem     TEXT NOT NULL,
    sealed_key    BYTEA NOT NULL,
    key_version   BIGINT NOT NULL DEFAULT 0,
    friendly_name TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE TABLE cluster_cert_version (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO cluster_cert_version (id, value) VALUES (1, 0);
-- HTTP-01 answers of the order in progress, so that any node answers the CA.
CREATE TABLE acme_challenges (
    token             TEXT PRIMARY KEY,
    key_authorization TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);
-- Certificate sources of the cluster (`cert acme --store Cluster`): the source as JSON and
-- its ACME account credentials sealed with the cluster key.
CREATE TABLE cluster_cert_sources (
    id             TEXT PRIMARY KEY,
    source         TEXT NOT NULL,
    sealed_account BYTEA,
    key_version    BIGINT NOT NULL DEFAULT 0
);
