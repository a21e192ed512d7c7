//! The rows of the cluster certificate store (store `Cluster`) and of ACME in a cluster, in
//! a PostgreSQL catalog.
//!
//! - [`ClusterCerts`]: certificate rows (chain PEM, the private key already sealed by the
//!   caller with the cluster key, names and validity for the SNI index), the store version
//!   every change bumps, and the change notification (`pg_notify('reportd_certs', ...)` in
//!   the writing transaction; [`spawn_listener`] calls back on each and after each
//!   reconnect, the caller polls [`ClusterCerts::version`] as the backstop).
//! - HTTP-01 answers shared by every node ([`ClusterCerts::put_challenge`],
//!   [`ClusterCerts::challenges`]).
//! - Cluster certificate sources (`cluster_cert_sources`: the source as JSON, its ACME
//!   account sealed by the caller).
//! - [`RenewerLock`]: the one-renewer-at-a-time lock, a session advisory lock held on a
//!   dedicated connection (never a pooled one: session locks are re-entrant per session),
//!   with `client_connection_check_interval` and TCP keepalives so that a holder that dies
//!   (kill -9) loses it within about a second.
//!
//! This module must not seal, open or parse certificates (the caller's `certstore::cluster`
//! does), and never logs the URL (it may hold a password) nor row contents.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, Row};
use time::OffsetDateTime;

use crate::{Error, Result};

/// The notification channel of cluster store changes.
pub const CHANNEL: &str = "reportd_certs";

/// Key of the advisory lock the ACME renewer holds ("rpacme").
pub const RENEWER_LOCK: i64 = 0x0000_7270_6163_6d65;

/// One certificate of the cluster store, as stored.
#[derive(Clone)]
pub struct CertRow {
    /// 40 upper-case hex digits.
    pub thumbprint: String,
    /// The DNS names the certificate covers (lower case; `*.example.com` allowed).
    pub names: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The leaf, then its chain, PEM.
    pub chain_pem: String,
    /// The private key sealed with the cluster key (opaque here).
    pub sealed_key: Vec<u8>,
    /// The cluster key version that sealed it.
    pub key_version: i64,
    pub friendly_name: Option<String>,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for CertRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertRow")
            .field("thumbprint", &self.thumbprint)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// A cluster certificate source row: the source as JSON, its sealed ACME account.
#[derive(Clone, Debug)]
pub struct SourceRow {
    pub id: String,
    pub source: String,
    pub sealed_account: Option<Vec<u8>>,
}

/// The cluster store over a small pool of its own (two connections).
#[derive(Clone)]
pub struct ClusterCerts {
    pool: PgPool,
    url: String,
}

fn options(url: &str, app: &str) -> Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(|e| Error::Invalid(format!("the PostgreSQL URL is not valid ({e})")))?
        .application_name(app))
}

fn db(e: sqlx::Error) -> Error {
    crate::postgres::db(e)
}

impl ClusterCerts {
    /// The store of the catalog at `url` (`postgres://`); connects lazily, each statement
    /// waiting at most 2 s for a connection.
    pub fn open(url: &str) -> Result<ClusterCerts> {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(options(url, "reportd-certs")?);
        Ok(ClusterCerts {
            pool,
            url: url.to_owned(),
        })
    }

    /// Adds `row`; false (and nothing changed) when the thumbprint is already there.
    pub async fn insert(&self, row: &CertRow) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query(
            "INSERT INTO cluster_certs (thumbprint, names, not_before, not_after, chain_pem, \
             sealed_key, key_version, friendly_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) ON CONFLICT (thumbprint) DO NOTHING",
        )
        .bind(&row.thumbprint)
        .bind(row.names.join("\n"))
        .bind(row.not_before)
        .bind(row.not_after)
        .bind(&row.chain_pem)
        .bind(&row.sealed_key)
        .bind(row.key_version)
        .bind(&row.friendly_name)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        commit_bumped(tx, &row.thumbprint).await?;
        Ok(true)
    }

    /// Removes certificate `thumbprint`; false when it was not there.
    pub async fn remove(&self, thumbprint: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query("DELETE FROM cluster_certs WHERE thumbprint = $1")
            .bind(thumbprint)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        commit_bumped(tx, thumbprint).await?;
        Ok(true)
    }

    /// Every certificate, newest NotBefore first.
    pub async fn list(&self) -> Result<Vec<CertRow>> {
        let rows = sqlx::query(
            "SELECT thumbprint, names, not_before, not_after, chain_pem, sealed_key, \
             key_version, friendly_name, created_at FROM cluster_certs \
             ORDER BY not_before DESC, thumbprint",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|r| CertRow {
                thumbprint: r.get("thumbprint"),
                names: r
                    .get::<String, _>("names")
                    .lines()
                    .map(str::to_owned)
                    .collect(),
                not_before: r.get("not_before"),
                not_after: r.get("not_after"),
                chain_pem: r.get("chain_pem"),
                sealed_key: r.get("sealed_key"),
                key_version: r.get("key_version"),
                friendly_name: r.get("friendly_name"),
                created_at: r.get("created_at"),
            })
            .collect())
    }

    /// The store version: raised by every change (the poll's backstop).
    pub async fn version(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT value FROM cluster_cert_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    /// Publishes an HTTP-01 answer for every node.
    pub async fn put_challenge(&self, token: &str, key_authorization: &str) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO acme_challenges (token, key_authorization, created_at) \
             VALUES ($1, $2, now()) ON CONFLICT (token) DO UPDATE SET key_authorization = $2",
        )
        .bind(token)
        .bind(key_authorization)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        commit_bumped(tx, "challenge").await?;
        Ok(())
    }

    /// Withdraws an HTTP-01 answer.
    pub async fn remove_challenge(&self, token: &str) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("DELETE FROM acme_challenges WHERE token = $1")
            .bind(token)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        commit_bumped(tx, "challenge").await?;
        Ok(())
    }

    /// The HTTP-01 answers (token, key authorization) of orders in progress; answers older
    /// than an hour belong to orders that died and are left out.
    pub async fn challenges(&self) -> Result<Vec<(String, String)>> {
        sqlx::query_as(
            "SELECT token, key_authorization FROM acme_challenges \
             WHERE created_at > now() - interval '1 hour'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)
    }

    /// Every cluster certificate source.
    pub async fn sources(&self) -> Result<Vec<SourceRow>> {
        let rows =
            sqlx::query("SELECT id, source, sealed_account FROM cluster_cert_sources ORDER BY id")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|r| SourceRow {
                id: r.get("id"),
                source: r.get("source"),
                sealed_account: r.get("sealed_account"),
            })
            .collect())
    }

    /// Writes source `id` (its JSON); the account stays unless `sealed_account` is given,
    /// as the sealed blob and the cluster key version that sealed it (what a rotation
    /// re-seals, `clusterkey::SEALED_COLUMNS`).
    pub async fn put_source(
        &self,
        id: &str,
        source_json: &str,
        sealed_account: Option<(&[u8], i64)>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO cluster_cert_sources (id, source, sealed_account, key_version) \
             VALUES ($1, $2, $3, COALESCE($4, 0)) \
             ON CONFLICT (id) DO UPDATE SET source = $2, \
             sealed_account = COALESCE($3, cluster_cert_sources.sealed_account), \
             key_version = COALESCE($4, cluster_cert_sources.key_version)",
        )
        .bind(id)
        .bind(source_json)
        .bind(sealed_account.map(|(b, _)| b))
        .bind(sealed_account.map(|(_, v)| v))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        commit_bumped(tx, "source").await?;
        Ok(())
    }

    /// Removes source `id`; false when it was not there.
    pub async fn remove_source(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM cluster_cert_sources WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    /// Tries to become the renewer: the advisory lock on a connection of its own.
    /// `Ok(None)`: another node holds it now.
    pub async fn try_renewer_lock(&self) -> Result<Option<RenewerLock>> {
        // A dead holder's session must end soon: the server checks the client while a
        // query runs, and TCP keepalives notice a vanished peer while idle.
        // Named with the process id, so that an operator (or a test) sees which node renews.
        let name = format!("reportd-renewer-{}", std::process::id());
        let opts = options(&self.url, &name)?
            .options([
                ("client_connection_check_interval", "500"),
                ("tcp_keepalives_idle", "2"),
                ("tcp_keepalives_interval", "1"),
                ("tcp_keepalives_count", "2"),
            ])
            .disable_statement_logging();
        let mut conn =
            tokio::time::timeout(Duration::from_secs(3), PgConnection::connect_with(&opts))
                .await
                .map_err(|_| {
                    Error::Unavailable(
                        "the report server database did not answer within 3 s".into(),
                    )
                })?
                .map_err(db)?;
        let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(RENEWER_LOCK)
            .fetch_one(&mut conn)
            .await
            .map_err(db)?;
        if !won {
            let _ = conn.close().await;
            return Ok(None);
        }
        Ok(Some(RenewerLock { conn: Some(conn) }))
    }
}

/// Raises the store version and notifies every node in the writing transaction, then
/// commits it (the notification is delivered at commit).
async fn commit_bumped(mut tx: sqlx::Transaction<'_, sqlx::Postgres>, what: &str) -> Result<()> {
    sqlx::query("UPDATE cluster_cert_version SET value = value + 1 WHERE id = 1")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(what)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)
}

/// The renewer's advisory lock; released when dropped (the session ends) or by
/// [`RenewerLock::release`].
pub struct RenewerLock {
    conn: Option<PgConnection>,
}

impl RenewerLock {
    /// Whether the session holding the lock still answers.
    pub async fn alive(&mut self) -> bool {
        match self.conn.as_mut() {
            Some(c) => c.ping().await.is_ok(),
            None => false,
        }
    }

    /// Unlocks and closes the session.
    pub async fn release(mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(RENEWER_LOCK)
                .execute(&mut c)
                .await;
            let _ = c.close().await;
        }
    }
}

/// Why the listener's callback runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A node committed a change of the store (or of the challenges).
    Notified,
    /// The listener (re)connected: changes meanwhile may have been missed; reload.
    Resync,
}

/// Starts the listener of [`CHANNEL`] on the catalog at `url`; `on_change` runs for every
/// notification and after every (re)connect, on the listener task (keep it quick: a
/// channel send). Runs until aborted; reconnects by itself.
pub fn spawn_listener(
    url: String,
    on_change: Arc<dyn Fn(Change) + Send + Sync>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut down = false;
        loop {
            let connect = async {
                let mut l = PgListener::connect(&url).await?;
                l.eager_reconnect(false);
                l.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(l)
            };
            match tokio::time::timeout(Duration::from_secs(2), connect).await {
                Ok(Ok(mut l)) => {
                    if down {
                        tracing::info!("cluster certificate listener reconnected; store reloaded");
                        down = false;
                    }
                    on_change(Change::Resync);
                    while let Ok(Some(_)) = l.try_recv().await {
                        on_change(Change::Notified);
                    }
                }
                Ok(Err(e)) if !down => {
                    tracing::warn!("cluster certificate listener cannot connect: {}", db(e));
                }
                _ => {}
            }
            if !down {
                tracing::warn!("cluster certificate listener lost its connection; reconnecting");
                down = true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
}
