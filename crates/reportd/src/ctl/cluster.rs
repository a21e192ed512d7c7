//! `reportctl cluster status|join|remove`, and the server's side of the node table: its
//! registration at start (refusing a copied data dir) and its heartbeat.
//!
//! A node's installation id is derived from the data dir's instance key (a copy of the data
//! dir has the same one, as a copied SSRS config keeps its InstallationID), never the key
//! itself. The rows live in the catalog (`catalog::nodes`, PostgreSQL only; an embedded
//! SQLite catalog is a one-node instance and `cluster` commands say so).
//!
//! Join and remove change the node's state in the table; the node's heartbeat (every 3 s)
//! reads it back and its apps answer 503 (`rsReportServerNotActivated`) while it is waiting
//! or removed. The hand-over of a cluster key is not done here.
//!
//! Must not: write the data dir, show the database password, or change catalog content.

use anyhow::{Context, bail};
use catalog::nodes::{NodeInfo, Registry};
use clap::Subcommand;
use datadir::DataDir;

use super::{Ctx, block_on, print_json};

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Every node on this database: InstallationID, State, LastSeen, Urls.
    Status,
    /// Join the waiting node INSTALLATION_ID (run on a joined node).
    Join {
        #[arg(value_name = "INSTALLATION_ID")]
        installation_id: String,
    },
    /// Remove the node INSTALLATION_ID from the cluster (run on a joined node).
    Remove {
        #[arg(value_name = "INSTALLATION_ID")]
        installation_id: String,
    },
}

pub fn run(ctx: &Ctx, cmd: ClusterCommand) -> anyhow::Result<i32> {
    let url = postgres_url(&ctx.dd)?;
    block_on(async move {
        let reg = Registry::open(&url)?;
        match cmd {
            ClusterCommand::Status => {
                let nodes = reg.list().await?;
                if ctx.json {
                    print_json(&nodes)?;
                } else {
                    let me = installation_id(&ctx.dd)?;
                    for n in &nodes {
                        let seen = match (&n.last_seen, n.alive) {
                            (Some(t), true) => format!("alive, last seen {t}"),
                            (Some(t), false) => format!("down, last seen {t}"),
                            (None, _) => "stopped".to_owned(),
                        };
                        let mark = if n.installation_id == me {
                            " (this node)"
                        } else {
                            ""
                        };
                        println!(
                            "{}{mark}  {}  {}  {} pid {}  {}",
                            n.installation_id,
                            n.state,
                            seen,
                            n.host,
                            n.pid,
                            n.urls.join(" ")
                        );
                    }
                }
                Ok(0)
            }
            ClusterCommand::Join { installation_id } => {
                change(ctx, &reg, &installation_id, "joined").await
            }
            ClusterCommand::Remove { installation_id } => {
                change(ctx, &reg, &installation_id, "removed").await
            }
        }
    })?
}

/// Join or remove, refused unless this node is joined itself.
async fn change(ctx: &Ctx, reg: &Registry, target: &str, state: &str) -> anyhow::Result<i32> {
    let me = installation_id(&ctx.dd)?;
    let nodes = reg.list().await?;
    match nodes.iter().find(|n| n.installation_id == me) {
        Some(n) if n.state == "joined" => {}
        Some(n) => bail!(
            "this node ({me}) is {} itself; run `reportctl cluster {}` on a joined node",
            n.state,
            if state == "joined" { "join" } else { "remove" }
        ),
        None => bail!(
            "this node ({me}) has not registered with the database yet; start it (`reportctl start`), then run the command on a joined node"
        ),
    }
    reg.set_state(target, state).await?;
    println!("{target} {state}");
    Ok(0)
}

/// The configured PostgreSQL URL, or why there is no cluster.
fn postgres_url(dd: &DataDir) -> anyhow::Result<String> {
    let url = super::database::configured(dd)?;
    if url.backend() != datadir::Backend::Postgres {
        bail!(
            "this instance uses an embedded SQLite catalog, which one node only uses; a cluster shares a PostgreSQL catalog (`reportctl database create --url postgres://...`)"
        );
    }
    Ok(url.connect_string(dd.root()).to_string())
}

/// The installation id of a data dir: a UUID-shaped digest of its instance key.
pub fn installation_id(dd: &DataDir) -> anyhow::Result<String> {
    let key = dd.instance_key()?;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"reportd installation id\0");
    ctx.update(&key[..]);
    let d = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    Ok(uuid::Builder::from_random_bytes(b)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// The server's registration: heartbeats until dropped, then marks the node stopped.
pub struct Membership {
    task: tokio::task::JoinHandle<()>,
    reg: std::sync::Arc<Registry>,
    me: NodeInfo,
    /// The apps told of the node's state on every heartbeat (set once they exist).
    apps: std::sync::Arc<std::sync::OnceLock<webapp::AppState>>,
    state: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Membership {
    /// From now on the apps serve only while this node is joined (checked each heartbeat).
    pub fn attach(&self, apps: webapp::AppState) {
        if let Some(s) = &*self.state.lock().unwrap_or_else(|p| p.into_inner()) {
            apps.set_cluster_state(s);
        }
        let _ = self.apps.set(apps);
    }

    /// Marks the node stopped (best effort) and ends the heartbeat.
    pub async fn leave(self) {
        self.task.abort();
        let _ = self.reg.stopped(&self.me).await;
    }
}

/// At server start: registers this node when the catalog is PostgreSQL, refusing (error)
/// a copy of a data dir whose installation is running elsewhere, and starts the heartbeat.
/// A database that is not reachable now is not an error: the heartbeat registers later.
pub async fn join_at_start(
    dd: &DataDir,
    urls: Vec<String>,
    version: &str,
) -> anyhow::Result<Option<Membership>> {
    let Ok(url) = postgres_url(dd) else {
        return Ok(None);
    };
    let reg = std::sync::Arc::new(Registry::open(&url)?);
    let me = NodeInfo {
        installation_id: installation_id(dd)?,
        host: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into()),
        pid: i64::from(std::process::id()),
        boot_id: uuid::Uuid::new_v4().to_string(),
        urls,
        version: version.to_owned(),
    };
    // A row of this host whose process is gone is a crash, not a copy.
    let my_host = me.host.clone();
    let gone = move |host: &str, pid: i64| {
        host == my_host && !std::path::Path::new(&format!("/proc/{pid}")).exists()
    };
    let apps: std::sync::Arc<std::sync::OnceLock<webapp::AppState>> = Default::default();
    let state: std::sync::Arc<std::sync::Mutex<Option<String>>> = Default::default();
    let (apps2, state2) = (apps.clone(), state.clone());
    let note = move |s: String| {
        if let Some(a) = apps2.get() {
            a.set_cluster_state(&s);
        }
        *state2.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
    };
    let mut registered = match reg.register(&me, &gone).await {
        Ok(state) => {
            tracing::info!(installation_id = %me.installation_id, state, "registered in the cluster node table");
            note(state);
            true
        }
        Err(e @ catalog::Error::Invalid(_)) => {
            return Err(anyhow::Error::new(e)).context("cannot start");
        }
        Err(e) => {
            tracing::warn!("cannot register in the cluster node table yet: {e}");
            false
        }
    };
    let (reg2, me2) = (reg.clone(), me.clone());
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(catalog::nodes::HEARTBEAT_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            if !registered {
                match reg2.register(&me2, &gone).await {
                    Ok(s) => {
                        note(s);
                        registered = true;
                    }
                    Err(e) => tracing::warn!("cannot register in the cluster node table: {e}"),
                }
                continue;
            }
            match reg2.heartbeat(&me2).await {
                Ok(Some(s)) => note(s),
                Ok(None) => tracing::error!(
                    installation_id = %me2.installation_id,
                    "another process took over this installation's row in the node table (a copied data dir?)"
                ),
                Err(e) => tracing::warn!("cluster heartbeat failed: {e}"),
            }
        }
    });
    Ok(Some(Membership {
        task,
        reg,
        me,
        apps,
        state,
    }))
}
