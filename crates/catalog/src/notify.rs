//! Change notification between the nodes of a PostgreSQL catalog.
//!
//! Every write transaction runs [`NOTIFY_SQL`] after bumping the generation (see
//! `sql.rs`), so PostgreSQL tells every listening session at commit, and never for a write
//! that rolled back. [`spawn_listener`] keeps one `LISTEN` connection per node (sqlx
//! `PgListener`) and calls the node's callback for each notification. Notifications sent
//! while the listener was disconnected are lost, so after every (re)connect the callback is
//! called once as well ([`Change::Resync`]): the node then forgets what it cached. The
//! generation poll of the web layer stays as the backstop.
//!
//! This module owns the channel name and the listener task; it must not read or cache
//! catalog data itself, and never logs the URL (it may hold a password).

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;

/// The notification channel of catalog changes.
pub const CHANNEL: &str = "reportd_catalog";

/// What every write transaction runs (PostgreSQL queues it until commit).
pub const NOTIFY_SQL: &str = "SELECT pg_notify('reportd_catalog', '')";

/// Longest wait for the listener's connection before it tries again.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between reconnect attempts while PostgreSQL is away.
const RETRY: Duration = Duration::from_millis(250);

/// Why the callback runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Another session (or this one) committed a catalog change.
    Notified,
    /// The listener (re)connected: changes made meanwhile may have gone unnoticed.
    Resync,
    /// The listener's connection was lost: PostgreSQL may be down (see
    /// [`crate::guard::Guarded::verify`]).
    Lost,
}

/// Starts the listener of the catalog at `url` (a `postgres://` URL); `on_change` runs on
/// the listener task for every notification and after every (re)connect, so it must be
/// quick (an atomic store). The task runs until aborted; it reconnects by itself.
pub fn spawn_listener(
    url: String,
    on_change: Arc<dyn Fn(Change) + Send + Sync>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut logged_down = false;
        loop {
            match listen(&url).await {
                Ok(mut listener) => {
                    if logged_down {
                        tracing::info!("catalog change listener reconnected; caches resynced");
                        logged_down = false;
                    }
                    on_change(Change::Resync);
                    // try_recv: Ok(None) means the connection was lost. Start over with a
                    // fresh connection, so the resync above runs again once it is back.
                    while let Ok(Some(_)) = listener.try_recv().await {
                        on_change(Change::Notified);
                    }
                    on_change(Change::Lost);
                }
                Err(e) => {
                    if !logged_down {
                        tracing::warn!("catalog change listener cannot connect: {e}");
                    }
                }
            }
            if !logged_down {
                tracing::warn!("catalog change listener lost its connection; reconnecting");
                logged_down = true;
            }
            tokio::time::sleep(RETRY).await;
        }
    })
}

async fn listen(url: &str) -> Result<PgListener, String> {
    let connect = async {
        let mut l = PgListener::connect(url).await?;
        // Report a lost connection at once (Ok(None)) instead of first retrying to connect
        // inside try_recv: the loop above reconnects, and the node checks the database.
        l.eager_reconnect(false);
        l.listen(CHANNEL).await?;
        Ok::<_, sqlx::Error>(l)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(l)) => Ok(l),
        Ok(Err(e)) => Err(crate::postgres::db(e).to_string()),
        Err(_) => Err(format!(
            "no answer within {} s",
            CONNECT_TIMEOUT.as_secs_f64()
        )),
    }
}
