-- reportd catalog, PostgreSQL, version 1: items, their content, role assignments, users and
-- the generation counter. Applied by src/postgres.rs inside one transaction (holding an
-- advisory lock, so two nodes starting together migrate once), which also inserts the root
-- folder and records the version in reportd_schema.

-- A single row whose value every write transaction increments first. Besides telling
-- readers that something changed, the row lock serializes writers across nodes.
CREATE TABLE generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 1);

-- Folders, reports, data sources and resources. path keeps the spelling given at creation;
-- path_key is its case-insensitive key (computed by the application), unique, in the "C"
-- collation so that range scans over a folder's subtree compare bytes, as on SQLite.
-- own_policies: the item has its own role assignments (possibly none) instead of
-- inheriting its parent's. The root always has them.
CREATE TABLE items (
    id           UUID PRIMARY KEY,
    path         TEXT NOT NULL,
    path_key     TEXT COLLATE "C" NOT NULL UNIQUE,
    parent_id    UUID REFERENCES items (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    item_type    TEXT NOT NULL CHECK (item_type IN ('Folder', 'Report', 'DataSource', 'Resource')),
    size         BIGINT NOT NULL DEFAULT 0,
    mime_type    TEXT,
    description  TEXT NOT NULL DEFAULT '',
    hidden       BOOLEAN NOT NULL DEFAULT FALSE,
    own_policies BOOLEAN NOT NULL DEFAULT FALSE,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    modified_by  TEXT NOT NULL,
    modified_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX items_parent_id ON items (parent_id);

-- Content apart from the item row, so listings never read blobs.
CREATE TABLE item_content (
    item_id UUID PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    content BYTEA NOT NULL
);

-- Role assignments: one row per (item, user, item role).
CREATE TABLE policies (
    item_id   UUID NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    user_key  TEXT NOT NULL,
    user_name TEXT NOT NULL,
    role      TEXT NOT NULL,
    PRIMARY KEY (item_id, user_key, role)
);
CREATE INDEX policies_user_key ON policies (user_key);

-- Users; name_key is the lowercase name. system_roles: role tokens joined by ','.
CREATE TABLE users (
    name_key      TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    system_roles  TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
