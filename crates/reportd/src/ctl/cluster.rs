//! `reportctl cluster status|join|remove`, and the server's side of the node table: its
//! registration at start (refusing a copied data dir, creating the cluster key on the
//! first node, refusing a node whose copy of the key does not open), its heartbeat, and
//! picking up the cluster key live when the node is joined or the key changes.
//!
//! A node's installation id is derived from the data dir's instance key (a copy of the data
//! dir has the same one, as a copied SSRS config keeps its InstallationID), never the key
//! itself. The rows live in the catalog (`catalog::nodes`, PostgreSQL only; an embedded
//! SQLite catalog is a one-node instance and `cluster` commands say so).
//!
//! Join and remove are `mgmt::keys` operations (join seals the cluster key for the node,
//! remove deletes its copy). The node's heartbeat (every 3 s) reads its state and key
//! version back: its apps answer 503 (`rsReportServerNotActivated`) while it is waiting or
//! removed, and use the cluster key from the heartbeat that finds a new version.
//!
//! Must not: write the data dir, show the database password or a key, or change catalog
//! content.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, bail};
use catalog::nodes::{NodeInfo, Registry, Serving};
use clap::Subcommand;
use datadir::DataDir;

use super::{Ctx, block_on, print_json};

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Every node on this database: InstallationID, State, LastSeen, Urls, the binding
    /// version it applied, what it serves, its cluster key version.
    Status,
    /// Join the waiting node INSTALLATION_ID (run on a joined node: it seals the cluster
    /// key for it). With --key-file, join THIS node with a backup of the cluster key.
    Join {
        #[arg(value_name = "INSTALLATION_ID", required_unless_present = "key_file")]
        installation_id: Option<String>,
        /// A backup of the cluster's current key (`reportctl keys backup`).
        #[arg(long, value_name = "FILE", requires = "password_file")]
        key_file: Option<PathBuf>,
        /// File whose first line is the backup's password.
        #[arg(long, value_name = "FILE", requires = "key_file")]
        password_file: Option<PathBuf>,
    },
    /// Remove the node INSTALLATION_ID from the cluster (run on a joined node); its copy of
    /// the cluster key is deleted.
    Remove {
        #[arg(value_name = "INSTALLATION_ID")]
        installation_id: String,
    },
}

pub fn run(ctx: &Ctx, cmd: ClusterCommand) -> anyhow::Result<i32> {
    let url = postgres_url(&ctx.dd)?;
    match cmd {
        ClusterCommand::Status => block_on(async move {
            let reg = Registry::open(&url)?;
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
                        "{}{mark}  {}  key v{}  {}  {} pid {}  bindings v{}  {}",
                        n.installation_id,
                        n.state,
                        n.key_version,
                        seen,
                        n.host,
                        n.pid,
                        n.binding_version,
                        n.urls.join(" ")
                    );
                }
            }
            Ok::<_, anyhow::Error>(0)
        })?,
        ClusterCommand::Join {
            installation_id,
            key_file,
            password_file,
        } => {
            let change = match (key_file, password_file) {
                (Some(file), Some(pw)) => {
                    let me = installation_id_of(&ctx.dd)?;
                    if let Some(id) = &installation_id
                        && id.trim() != me
                    {
                        bail!(
                            "--key-file joins this node ({me}) itself; to join {id}, run `reportctl cluster join {id}` without --key-file on a joined node"
                        );
                    }
                    let pw = datadir::read_password_file(&pw)?;
                    let bytes =
                        std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
                    mgmt::keys::join_with_backup(&ctx.dd, &bytes, &pw).map_err(|e| {
                        tracing::error!("cluster join with a key backup refused: {e}");
                        e
                    })?
                }
                _ => {
                    let id = installation_id.unwrap_or_default();
                    mgmt::keys::join(&ctx.dd, &id).map_err(|e| explain(e, "join"))?
                }
            };
            report(ctx, &change)?;
            Ok(0)
        }
        ClusterCommand::Remove { installation_id } => {
            let change =
                mgmt::keys::remove(&ctx.dd, &installation_id).map_err(|e| explain(e, "remove"))?;
            report(ctx, &change)?;
            Ok(0)
        }
    }
}

/// The operation's error with the CLI's fix.
fn explain(e: mgmt::Error, what: &str) -> anyhow::Error {
    let text = e.to_string();
    if text.contains("this node (") && text.contains("holds no cluster key") {
        anyhow::anyhow!(
            "{text}\nRun `reportctl cluster {what} ID` on a joined node (`reportctl cluster status` shows which)"
        )
    } else {
        anyhow::Error::new(e)
    }
}

fn report(ctx: &Ctx, c: &mgmt::keys::NodeChange) -> anyhow::Result<()> {
    if ctx.json {
        print_json(&serde_json::json!({
            "InstallationID": c.installation_id,
            "State": c.state,
            "KeyVersion": c.key_version,
            "Unchanged": c.unchanged,
        }))?;
    } else if c.unchanged {
        println!("{} is {} already", c.installation_id, c.state);
    } else if c.state == "joined" {
        println!(
            "{} joined (cluster key version {}); it serves from its next heartbeat, within {} s",
            c.installation_id,
            c.key_version,
            catalog::nodes::HEARTBEAT_EVERY.as_secs()
        );
    } else {
        println!("{} {}", c.installation_id, c.state);
    }
    Ok(())
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
    installation_id_of(dd)
}

fn installation_id_of(dd: &DataDir) -> anyhow::Result<String> {
    Ok(mgmt::keys::installation_id(dd)?)
}

/// What the heartbeat reports: the running server's status (binding version, URLs, ports
/// and certificates), once the server exists.
type StatusSource = Arc<dyn mgmt::server::Handler>;

/// The server's registration: heartbeats until dropped, then marks the node stopped.
pub struct Membership {
    task: tokio::task::JoinHandle<()>,
    reg: Arc<Registry>,
    me: NodeInfo,
    shared: Arc<Shared>,
}

/// What the heartbeat task and the server share.
#[derive(Default)]
struct Shared {
    /// The apps told of the node's state and key on every heartbeat (set once they exist).
    apps: OnceLock<webapp::AppState>,
    state: Mutex<Option<String>>,
    /// The cluster key this node holds now (opened), with its version.
    key: Mutex<Option<datadir::sealed::ClusterKey>>,
    status: OnceLock<StatusSource>,
}

impl Shared {
    fn note_state(&self, s: &str) {
        if let Some(a) = self.apps.get() {
            a.set_cluster_state(s);
        }
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(s.to_owned());
    }

    fn note_key(&self, k: datadir::sealed::ClusterKey) {
        if let Some(a) = self.apps.get() {
            a.set_cluster_key(k.clone());
        }
        *self.key.lock().unwrap_or_else(|p| p.into_inner()) = Some(k);
    }

    fn key_version(&self) -> i64 {
        self.key
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, |k| k.version())
    }

    async fn serving(&self, instance: &str) -> Serving {
        let Some(h) = self.status.get() else {
            return Serving::default();
        };
        let resp = h.handle(mgmt::Request::Status).await;
        let Some(st) = resp.status else {
            return Serving::default();
        };
        let mut serving = format!("instance {instance}; ports {}", st.ports.join(" "));
        for c in &st.certificates {
            serving.push_str(&format!("; {} {}", c.endpoint, c.thumbprint));
        }
        Serving {
            binding_version: i64::try_from(st.binding_version).unwrap_or(i64::MAX),
            urls: st.urls,
            serving,
        }
    }
}

impl Membership {
    /// From now on the apps serve only while this node is joined (checked each heartbeat)
    /// and use the cluster key this node holds.
    pub fn attach(&self, apps: webapp::AppState) {
        if let Some(s) = &*self.shared.state.lock().unwrap_or_else(|p| p.into_inner()) {
            apps.set_cluster_state(s);
        }
        if let Some(k) = &*self.shared.key.lock().unwrap_or_else(|p| p.into_inner()) {
            apps.set_cluster_key(k.clone());
        }
        let _ = self.shared.apps.set(apps);
    }

    /// The heartbeat reports the binding version, URLs and certificates of `server`'s
    /// status from now on.
    pub fn report_status(&self, server: Arc<dyn mgmt::server::Handler>) {
        let _ = self.shared.status.set(server);
    }

    /// Marks the node stopped (best effort) and ends the heartbeat.
    pub async fn leave(self) {
        self.task.abort();
        let _ = self.reg.stopped(&self.me).await;
    }
}

/// Loads this node's copy of the cluster key when the row holds another version than the
/// one in use. A copy that does not open is an error (logged by the caller).
async fn pick_up_key(
    dd: &DataDir,
    reg: &Registry,
    shared: &Shared,
    state: &str,
    key_version: i64,
) -> anyhow::Result<()> {
    if state != "joined" || key_version == shared.key_version() {
        return Ok(());
    }
    let k = if key_version == 0 {
        // Joined, no key in the database yet: the first node creates it.
        mgmt::keys::ensure_cluster_key(dd, reg).await?
    } else {
        Some(mgmt::keys::cluster_key_of(dd, reg).await?)
    };
    if let Some(k) = k {
        tracing::info!(key_version = k.version(), "cluster key picked up");
        shared.note_key(k);
    }
    Ok(())
}

/// At server start: registers this node when the catalog is PostgreSQL, refusing (error)
/// a copy of a data dir whose installation is running elsewhere, or a joined node whose
/// copy of the cluster key does not open; creates the cluster key on the first node; and
/// starts the heartbeat. A database that is not reachable now is not an error: the
/// heartbeat registers later.
pub async fn join_at_start(
    dd: &DataDir,
    urls: Vec<String>,
    version: &str,
) -> anyhow::Result<Option<Membership>> {
    let Ok(url) = postgres_url(dd) else {
        return Ok(None);
    };
    let reg = Arc::new(Registry::open(&url)?);
    let me = NodeInfo {
        installation_id: installation_id(dd)?,
        host: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into()),
        pid: i64::from(std::process::id()),
        boot_id: uuid::Uuid::new_v4().to_string(),
        urls,
        version: version.to_owned(),
        public_key: mgmt::keys::node_public_key(dd)?,
    };
    // A row of this host whose process is gone is a crash, not a copy.
    let my_host = me.host.clone();
    let gone = move |host: &str, pid: i64| {
        host == my_host && !std::path::Path::new(&format!("/proc/{pid}")).exists()
    };
    let shared: Arc<Shared> = Default::default();
    let mut registered = match reg.register(&me, &gone).await {
        Ok(state) => {
            tracing::info!(installation_id = %me.installation_id, state, "registered in the cluster node table");
            shared.note_state(&state);
            if state == "joined" {
                let k = mgmt::keys::ensure_cluster_key(dd, &reg)
                    .await
                    .map_err(|e| {
                        tracing::error!("cannot start: {e}");
                        anyhow::Error::new(e)
                    })?;
                if let Some(k) = k {
                    shared.note_key(k);
                }
            }
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
    let (reg2, me2, shared2, dd2) = (reg.clone(), me.clone(), shared.clone(), dd.clone());
    let instance = mgmt::wmi::exec::instance_name(dd);
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(catalog::nodes::HEARTBEAT_EVERY);
        tick.tick().await;
        let mut key_error: Option<String> = None;
        loop {
            tick.tick().await;
            if !registered {
                match reg2.register(&me2, &gone).await {
                    Ok(s) => {
                        shared2.note_state(&s);
                        registered = true;
                    }
                    Err(e) => tracing::warn!("cannot register in the cluster node table: {e}"),
                }
                continue;
            }
            let serving = shared2.serving(&instance).await;
            match reg2.heartbeat(&me2, &serving).await {
                Ok(Some(beat)) => {
                    match pick_up_key(&dd2, &reg2, &shared2, &beat.state, beat.key_version).await {
                        Ok(()) => {
                            key_error = None;
                            shared2.note_state(&beat.state);
                        }
                        Err(e) => {
                            let text = e.to_string();
                            if key_error.as_deref() != Some(text.as_str()) {
                                tracing::error!(
                                    "this node cannot use the cluster key and does not serve: {text}"
                                );
                            }
                            key_error = Some(text);
                            // Not serving with a key the others no longer use.
                            shared2.note_state("waiting");
                        }
                    }
                }
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
        shared,
    }))
}
