-- reportd catalog, SQLite, version 1: items, their content, role assignments, users and
-- the generation counter. Applied by src/sqlite.rs inside one IMMEDIATE transaction, which
-- also inserts the root folder and records the version in reportd_schema.

-- A single row whose value every write transaction increments first; readers compare it
-- to know whether anything changed (from this process or another).
CREATE TABLE generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 1);

-- Folders, reports, data sources and resources. path keeps the spelling given at creation;
-- path_key is its case-insensitive key (computed by the application), unique.
-- own_policies: the item has its own role assignments (possibly none) instead of
-- inheriting its parent's. The root always has them.
CREATE TABLE items (
    id           BLOB PRIMARY KEY NOT NULL,
    path         TEXT NOT NULL,
    path_key     TEXT NOT NULL UNIQUE,
    parent_id    BLOB REFERENCES items (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    item_type    TEXT NOT NULL CHECK (item_type IN ('Folder', 'Report', 'DataSource', 'Resource')),
    size         INTEGER NOT NULL DEFAULT 0,
    mime_type    TEXT,
    description  TEXT NOT NULL DEFAULT '',
    hidden       INTEGER NOT NULL DEFAULT 0,
    own_policies INTEGER NOT NULL DEFAULT 0,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    modified_by  TEXT NOT NULL,
    modified_at  TEXT NOT NULL
);
CREATE INDEX items_parent_id ON items (parent_id);

-- Content apart from the item row, so listings never read (or page through) blobs.
CREATE TABLE item_content (
    item_id BLOB PRIMARY KEY NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    content BLOB NOT NULL
);

-- Role assignments: one row per (item, user, item role).
CREATE TABLE policies (
    item_id   BLOB NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    user_key  TEXT NOT NULL,
    user_name TEXT NOT NULL,
    role      TEXT NOT NULL,
    PRIMARY KEY (item_id, user_key, role)
);
CREATE INDEX policies_user_key ON policies (user_key);

-- Users; name_key is the lowercase name. system_roles: role tokens joined by ','.
CREATE TABLE users (
    name_key      TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    system_roles  TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
