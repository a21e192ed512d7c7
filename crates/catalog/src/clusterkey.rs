//! The cluster key's rows in a PostgreSQL catalog: which key version is current
//! (`cluster_keys`: versions and check values, never key material) and each node's sealed
//! copy (`cluster_nodes.sealed_key`, `key_version`, sealed to the node's `public_key`).
//!
//! - The first joined node of a database creates version 1 with [`Registry::rekey`] from
//!   its instance key (expected version 0: a second node racing it loses and reads its copy).
//! - [`Registry::grant`] (`cluster join`, `InitializeReportServer`): a node joined with its
//!   copy of the current version, in one statement.
//! - [`Registry::revoke`] (`cluster remove`, `DeleteEncryptionKey`): removed, copy deleted;
//!   the last joined node is never removed (the key would be lost with it).
//! - [`Registry::rekey`] (rotation, restore): in ONE transaction, every sealed data-source
//!   credential, every row of [`SEALED_COLUMNS`] (the cluster certificate store's keys) and
//!   every joined node's copy move to the new key, the new version becomes current, the
//!   generation is bumped and the change notified. Any failure rolls everything back.
//!
//! This module must not seal or open anything: the caller passes closures that do (the
//! crypto is `datadir::sealed`, the orchestration `mgmt::keys`). It never logs blobs.

use sqlx::Row;
use time::OffsetDateTime;

use crate::nodes::Registry;
use crate::{Error, Result};

/// Key of the advisory lock serializing key changes (the node registrations' lock, so a
/// node registering and a rotation take turns).
const KEY_LOCK: i64 = 0x0072_706e_6f64_6573;

/// A column of sealed values that a rotation re-seals: rows are sealed with
/// `datadir::sealed::ClusterKey::seal` and the associated data `"<table>/<id>"`, and
/// `version` holds the key version that sealed them. A table that does not exist (yet) is
/// skipped, as are NULL values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    /// The primary key column (read as text).
    pub id: &'static str,
    pub blob: &'static str,
    pub version: &'static str,
}

/// Every column sealed with the cluster key (the Cluster certificate store's private keys
/// and ACME accounts).
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "cluster_certs",
        id: "thumbprint",
        blob: "sealed_key",
        version: "key_version",
    },
    SealedColumn {
        table: "cluster_cert_sources",
        id: "id",
        blob: "sealed_account",
        version: "key_version",
    },
];

/// One version of the cluster key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVersion {
    pub version: i64,
    /// `datadir::keyfile::check_value` of the key.
    pub check_value: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

/// A node's row as the key operations need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeKey {
    pub state: String,
    pub public_key: Option<Vec<u8>>,
    pub sealed_key: Option<Vec<u8>>,
    pub key_version: i64,
}

/// A failure of a caller's closure: rolls the transaction back.
pub type SealResult<T> = std::result::Result<T, String>;
/// Seals the new key for a node: `(installation id, public key)` → sealed copy.
pub type SealCopy<'a> = dyn Fn(&str, &[u8]) -> SealResult<Vec<u8>> + Sync + 'a;
/// Re-seals a data source definition: `(path, content)` → new content, None: unchanged.
pub type ResealSource<'a> = dyn Fn(&str, &[u8]) -> SealResult<Option<Vec<u8>>> + Sync + 'a;
/// Re-seals one sealed value: `(column, row id, value)` → new value.
pub type ResealRow<'a> = dyn Fn(&SealedColumn, &str, &[u8]) -> SealResult<Vec<u8>> + Sync + 'a;

/// What [`Registry::rekey`] does (the closures do the crypto).
pub struct Rekey<'a> {
    /// The version the caller found current (0: none); another one now refuses the change.
    pub expected_version: i64,
    pub new_version: i64,
    pub check_value: &'a str,
    pub by: &'a str,
    /// A node joined in the same transaction (a restore joins the node it runs on).
    pub join: Option<&'a str>,
    /// The new key sealed for the node `(installation id, public key)`.
    pub seal_copy: &'a SealCopy<'a>,
    /// A data source definition `(path, content)` re-sealed; None leaves it as it is.
    pub reseal_source: &'a ResealSource<'a>,
    /// A sealed value `(column, row id, value)` re-sealed.
    pub reseal_row: &'a ResealRow<'a>,
}

impl std::fmt::Debug for Rekey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rekey")
            .field("expected_version", &self.expected_version)
            .field("new_version", &self.new_version)
            .finish_non_exhaustive()
    }
}

/// What a rekey changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Paths of the data sources whose definitions changed.
    pub data_sources: Vec<String>,
    /// Rows of [`SEALED_COLUMNS`] re-sealed.
    pub rows: usize,
    /// Joined nodes given a copy of the new key.
    pub nodes: Vec<String>,
}

fn db(e: sqlx::Error) -> Error {
    crate::postgres::db(e)
}

fn refused(what: &str, e: String) -> Error {
    Error::Invalid(format!("{what}: {e}; nothing was changed"))
}

impl Registry {
    /// The current key version, None before the first node created one.
    pub async fn current_key(&self) -> Result<Option<KeyVersion>> {
        let row = sqlx::query(
            "SELECT version, check_value, created_at, created_by FROM cluster_keys WHERE is_current",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(|r| KeyVersion {
            version: r.get("version"),
            check_value: r.get("check_value"),
            created_at: r.get("created_at"),
            created_by: r.get("created_by"),
        }))
    }

    /// The version a new key gets (one more than any there was).
    pub async fn next_key_version(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM cluster_keys")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    /// The key columns of one node, None for an unknown installation.
    pub async fn node_key(&self, installation_id: &str) -> Result<Option<NodeKey>> {
        let row = sqlx::query(
            "SELECT state, public_key, sealed_key, key_version FROM cluster_nodes WHERE installation_id = $1",
        )
        .bind(installation_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(|r| NodeKey {
            state: r.get("state"),
            public_key: r.get("public_key"),
            sealed_key: r.get("sealed_key"),
            key_version: r.get("key_version"),
        }))
    }

    /// Joins `target` with its copy of key `version` (which must still be current).
    pub async fn grant(&self, target: &str, version: i64, sealed: &[u8]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        lock(&mut tx).await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM cluster_keys WHERE is_current")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if current != Some(version) {
            return Err(Error::Invalid(
                "the cluster key changed while the node was being joined; run the join again"
                    .into(),
            ));
        }
        let done = sqlx::query(
            "UPDATE cluster_nodes SET state = 'joined', sealed_key = $2, key_version = $3 \
             WHERE installation_id = $1",
        )
        .bind(target)
        .bind(sealed)
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(unknown(target));
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    /// Removes `target` from the cluster and deletes its copy of the key. Refused for the
    /// last joined node.
    pub async fn revoke(&self, target: &str) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        lock(&mut tx).await?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM cluster_nodes WHERE installation_id = $1")
                .bind(target)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let Some(state) = state else {
            return Err(unknown(target));
        };
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cluster_nodes WHERE state = 'joined' AND installation_id <> $1",
        )
        .bind(target)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        if state == "joined" && others == 0 {
            return Err(Error::Invalid(format!(
                "{target} is the last joined node: removing it would lose the cluster key; join another node first"
            )));
        }
        sqlx::query(
            "UPDATE cluster_nodes SET state = 'removed', sealed_key = NULL, key_version = 0 \
             WHERE installation_id = $1",
        )
        .bind(target)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    /// Moves everything sealed to a new key, in one transaction (see the module
    /// documentation). A closure's error rolls it all back ([`Error::Invalid`]).
    pub async fn rekey(&self, plan: &Rekey<'_>) -> Result<Rekeyed> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        lock(&mut tx).await?;
        sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM cluster_keys WHERE is_current")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if current.unwrap_or(0) != plan.expected_version {
            return Err(Error::Invalid(
                "the cluster key changed meanwhile (another node rotated or restored it); run the command again".into(),
            ));
        }
        if let Some(id) = plan.join {
            let done =
                sqlx::query("UPDATE cluster_nodes SET state = 'joined' WHERE installation_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            if done.rows_affected() == 0 {
                return Err(unknown(id));
            }
        }
        let mut out = Rekeyed::default();
        // Shared data sources' sealed credentials.
        let sources = sqlx::query(
            "SELECT i.id::text AS id, i.path, c.content FROM items i \
             JOIN item_content c ON c.item_id = i.id \
             WHERE i.item_type = 'DataSource' ORDER BY i.path_key FOR UPDATE OF c",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        for r in sources {
            let (id, path): (String, String) = (r.get("id"), r.get("path"));
            let content: Vec<u8> = r.get("content");
            let Some(new) = (plan.reseal_source)(&path, &content)
                .map_err(|e| refused(&format!("the data source {path}"), e))?
            else {
                continue;
            };
            sqlx::query("UPDATE item_content SET content = $2 WHERE item_id = CAST($1 AS UUID)")
                .bind(&id)
                .bind(&new)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query(
                "UPDATE items SET size = $2, modified_at = now(), modified_by = $3 WHERE id = CAST($1 AS UUID)",
            )
            .bind(&id)
            .bind(new.len() as i64)
            .bind(plan.by)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            out.data_sources.push(path);
        }
        // The other sealed columns (the Cluster certificate store), where they exist.
        let mut certs_changed = false;
        for col in SEALED_COLUMNS {
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(col.table)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            if !exists {
                continue;
            }
            let rows = sqlx::query(&format!(
                "SELECT CAST({id} AS TEXT) AS id, {blob} AS blob FROM {table} \
                 WHERE {blob} IS NOT NULL FOR UPDATE",
                id = col.id,
                blob = col.blob,
                table = col.table
            ))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            for r in rows {
                let id: String = r.get("id");
                let blob: Vec<u8> = r.get("blob");
                let new = (plan.reseal_row)(col, &id, &blob)
                    .map_err(|e| refused(&format!("{}/{id}", col.table), e))?;
                sqlx::query(&format!(
                    "UPDATE {table} SET {blob} = $2, {version} = $3 WHERE CAST({id} AS TEXT) = $1",
                    table = col.table,
                    blob = col.blob,
                    version = col.version,
                    id = col.id
                ))
                .bind(&id)
                .bind(&new)
                .bind(plan.new_version)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                out.rows += 1;
                certs_changed |= col.table == "cluster_certs";
            }
        }
        if certs_changed {
            sqlx::query("UPDATE cluster_cert_version SET value = value + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query("SELECT pg_notify('reportd_certs', '')")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        // Every joined node's copy.
        let nodes = sqlx::query(
            "SELECT installation_id, public_key FROM cluster_nodes WHERE state = 'joined' \
             ORDER BY installation_id FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        for r in nodes {
            let id: String = r.get("installation_id");
            let Some(pk) = r.get::<Option<Vec<u8>>, _>("public_key") else {
                // Joined before nodes published keys: it must be joined again.
                sqlx::query(
                    "UPDATE cluster_nodes SET state = 'waiting', sealed_key = NULL, key_version = 0 \
                     WHERE installation_id = $1",
                )
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                continue;
            };
            let sealed =
                (plan.seal_copy)(&id, &pk).map_err(|e| refused(&format!("the node {id}"), e))?;
            sqlx::query(
                "UPDATE cluster_nodes SET sealed_key = $2, key_version = $3 WHERE installation_id = $1",
            )
            .bind(&id)
            .bind(&sealed)
            .bind(plan.new_version)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            out.nodes.push(id);
        }
        sqlx::query("UPDATE cluster_keys SET is_current = FALSE WHERE is_current")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO cluster_keys (version, check_value, created_at, created_by, is_current) \
             VALUES ($1, $2, now(), $3, TRUE)",
        )
        .bind(plan.new_version)
        .bind(plan.check_value)
        .bind(plan.by)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query(crate::notify::NOTIFY_SQL)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(out)
    }
}

async fn lock(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(KEY_LOCK)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

fn unknown(id: &str) -> Error {
    Error::Invalid(format!(
        "no node with the installation id {id} uses this database; the cluster status lists them"
    ))
}
