//! The node table of a PostgreSQL catalog: which report servers share this database, in
//! which state (waiting, joined, removed), and when each was last seen.
//!
//! A node [`Registry::register`]s at start and [`Registry::heartbeat`]s every
//! [`HEARTBEAT_EVERY`]; times are the database clock, so node clocks may drift. An
//! installation counts as running while its last heartbeat is younger than [`ALIVE_WINDOW`].
//! A start whose installation is running under another boot id (a copied data dir, a
//! cloned machine) is refused with [`Error::Invalid`] naming the other host and pid.
//! The first node of a database is joined; later ones wait until a joined node joins them
//! (`Registry::grant`, `reportctl cluster join`), which also hands it the cluster key
//! ([`crate::clusterkey`]).
//!
//! This module owns the `cluster_nodes` rows; it must not decide what a waiting node serves
//! (the web layer does) nor touch the catalog's content. Registrations take an advisory
//! transaction lock, so two nodes starting at once are told apart.

use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use time::OffsetDateTime;

use crate::{Error, Result};

/// How often a running node tells the database it is alive.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(3);
/// A node whose last heartbeat is older counts as down (five missed heartbeats).
pub const ALIVE_WINDOW: Duration = Duration::from_secs(15);
/// Key of the advisory lock serializing registrations ("rpnodes").
const REGISTER_LOCK: i64 = 0x0072_706e_6f64_6573;

/// What a starting node says about itself.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub installation_id: String,
    pub host: String,
    pub pid: i64,
    /// New on every start.
    pub boot_id: String,
    pub urls: Vec<String>,
    pub version: String,
    /// The node's X25519 public key (`datadir::sealed::node_public_key`): joined nodes seal
    /// the cluster key to it.
    pub public_key: Vec<u8>,
}

/// What a heartbeat reports besides "alive": the binding (repository) version the node
/// has applied and what it serves now.
#[derive(Clone, Debug, Default)]
pub struct Serving {
    pub binding_version: i64,
    /// The URLs it serves now (one per line in the row).
    pub urls: Vec<String>,
    /// A short description of what it serves (e.g. endpoints and thumbprints).
    pub serving: String,
}

/// The node's row as its heartbeat reads it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beat {
    pub state: String,
    /// The version of the cluster key sealed in the row (0: none).
    pub key_version: i64,
}

/// One row, as `reportctl cluster status --json` shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Node {
    #[serde(rename = "InstallationID")]
    pub installation_id: String,
    /// `waiting`, `joined` or `removed`.
    pub state: String,
    /// The database clock at the last heartbeat (RFC 3339), None once stopped.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    /// Whether the last heartbeat is within [`ALIVE_WINDOW`].
    pub alive: bool,
    pub urls: Vec<String>,
    pub host: String,
    pub pid: i64,
    pub version: String,
    /// The catalog generation at the node's last heartbeat.
    pub applied_generation: i64,
    pub binding_version: i64,
    pub serving: String,
    /// The cluster key version sealed for this node (0: none).
    pub key_version: i64,
}

/// The node table over a small pool of its own (two connections).
pub struct Registry {
    pub(crate) pool: PgPool,
}

impl Registry {
    /// A registry on the catalog at `url` (`postgres://`); connects lazily, each statement
    /// waiting at most 2 s for a connection.
    pub fn open(url: &str) -> Result<Registry> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| Error::Invalid(format!("the PostgreSQL URL is not valid ({e})")))?
            .application_name("reportd-nodes");
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(opts);
        Ok(Registry { pool })
    }

    /// Records this start; returns the node's state. Refuses a start whose installation
    /// is running elsewhere (another boot id, heartbeat within [`ALIVE_WINDOW`]) unless
    /// `gone(host, pid)` knows that process ended (the caller checks its own host, so a
    /// restart right after a crash is not taken for a copy).
    pub async fn register(
        &self,
        me: &NodeInfo,
        gone: impl Fn(&str, i64) -> bool,
    ) -> Result<String> {
        let db = crate::postgres::db;
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(REGISTER_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let row = sqlx::query(
            "SELECT host, pid, boot_id, state, sealed_key IS NOT NULL AS has_key, \
             CAST(EXTRACT(EPOCH FROM now() - last_seen) AS DOUBLE PRECISION) AS age \
             FROM cluster_nodes WHERE installation_id = $1",
        )
        .bind(&me.installation_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let state = match row {
            Some(r) => {
                let age: Option<f64> = r.get("age");
                let boot: String = r.get("boot_id");
                let host: String = r.get("host");
                let pid: i64 = r.get("pid");
                if boot != me.boot_id
                    && age.is_some_and(|a| a < ALIVE_WINDOW.as_secs_f64())
                    && !gone(&host, pid)
                {
                    return Err(Error::Invalid(format!(
                        "the installation {} of this data dir is already running on host {host} (pid {pid}), last seen {:.0} s ago: this data dir is a copy of that one. Stop the other server, or give this node its own identity with `reportctl init` in a new data dir",
                        me.installation_id,
                        age.unwrap_or(0.0)
                    )));
                }
                let state: String = r.get("state");
                // A node joined before the cluster key existed (schema 2) has no copy:
                // once another node created the key, it must be joined again.
                let key_exists: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM cluster_keys)")
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db)?;
                if state == "joined" && !r.get::<bool, _>("has_key") && key_exists {
                    "waiting".to_owned()
                } else {
                    state
                }
            }
            None => {
                let joined: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM cluster_nodes WHERE state = 'joined'")
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db)?;
                if joined == 0 { "joined" } else { "waiting" }.to_owned()
            }
        };
        sqlx::query(
            "INSERT INTO cluster_nodes (installation_id, host, pid, boot_id, urls, version, state, first_seen, last_seen, public_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now(), $8) \
             ON CONFLICT (installation_id) DO UPDATE SET host = $2, pid = $3, boot_id = $4, \
             urls = $5, version = $6, state = $7, last_seen = now(), public_key = $8",
        )
        .bind(&me.installation_id)
        .bind(&me.host)
        .bind(me.pid)
        .bind(&me.boot_id)
        .bind(me.urls.join("\n"))
        .bind(&me.version)
        .bind(&state)
        .bind(&me.public_key)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(state)
    }

    /// The node's heartbeat: last seen now (database clock), with the catalog generation,
    /// the binding version it applied and what it serves. Returns the node's state and key
    /// version, or None when the row now belongs to another boot (a copy took over after
    /// this node looked dead) or was deleted.
    pub async fn heartbeat(&self, me: &NodeInfo, now: &Serving) -> Result<Option<Beat>> {
        let row = sqlx::query(
            "UPDATE cluster_nodes SET last_seen = now(), \
             applied_generation = (SELECT value FROM generation WHERE id = 1), \
             binding_version = $3, urls = $4, serving = $5 \
             WHERE installation_id = $1 AND boot_id = $2 RETURNING state, key_version",
        )
        .bind(&me.installation_id)
        .bind(&me.boot_id)
        .bind(now.binding_version)
        .bind(now.urls.join("\n"))
        .bind(&now.serving)
        .fetch_optional(&self.pool)
        .await
        .map_err(crate::postgres::db)?;
        Ok(row.map(|r| Beat {
            state: r.get("state"),
            key_version: r.get("key_version"),
        }))
    }

    /// A stopping node: last seen NULL, so a restart (or a copy) needs not wait.
    pub async fn stopped(&self, me: &NodeInfo) -> Result<()> {
        sqlx::query(
            "UPDATE cluster_nodes SET last_seen = NULL WHERE installation_id = $1 AND boot_id = $2",
        )
        .bind(&me.installation_id)
        .bind(&me.boot_id)
        .execute(&self.pool)
        .await
        .map_err(crate::postgres::db)?;
        Ok(())
    }

    /// Every node, in order of first registration.
    pub async fn list(&self) -> Result<Vec<Node>> {
        let rows = sqlx::query(
            "SELECT installation_id, state, last_seen, host, pid, urls, version, \
             applied_generation, binding_version, serving, key_version, \
             COALESCE(last_seen > now() - make_interval(secs => $1), FALSE) AS alive \
             FROM cluster_nodes ORDER BY first_seen, installation_id",
        )
        .bind(ALIVE_WINDOW.as_secs_f64())
        .fetch_all(&self.pool)
        .await
        .map_err(crate::postgres::db)?;
        Ok(rows
            .into_iter()
            .map(|r| Node {
                installation_id: r.get("installation_id"),
                state: r.get("state"),
                last_seen: r.get("last_seen"),
                alive: r.get("alive"),
                urls: r
                    .get::<String, _>("urls")
                    .lines()
                    .map(str::to_owned)
                    .collect(),
                host: r.get("host"),
                pid: r.get("pid"),
                version: r.get("version"),
                applied_generation: r.get("applied_generation"),
                binding_version: r.get("binding_version"),
                serving: r.get("serving"),
                key_version: r.get("key_version"),
            })
            .collect())
    }
}
