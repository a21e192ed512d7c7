//! Helpers of the tests that run several nodes on one PostgreSQL database: a fresh database
//! per test, nodes (real `reportd` processes on ports bound before they start), the node
//! table as `reportctl cluster status --json` shows it, joining nodes.
//!
//! Include with `mod common;` and `#[path = "common/pgcluster.rs"] mod pgcluster;`.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::common::{Instance, Sockets, curl};

pub const ADMIN: &str = "admin:cluster admin pw";

/// The PostgreSQL server URL of the tests, or None (test skipped) when not configured.
pub fn pg_base() -> Option<String> {
    match std::env::var("REPORTD_TEST_PG_URL") {
        Ok(u) => Some(u),
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but REPORTD_TEST_PG_URL is not set"
            );
            eprintln!("skipped: REPORTD_TEST_PG_URL not set");
            None
        }
    }
}

/// A fresh database on the test server, dropped (with its sessions) on drop.
pub struct FreshDb {
    pub base: String,
    pub name: String,
}

impl FreshDb {
    pub fn new(base: &str) -> FreshDb {
        let name = format!("reportd_cluster_{}", uuid::Uuid::new_v4().simple());
        FreshDb {
            base: base.to_owned(),
            name,
        }
    }

    /// The URL of the database through `host:port` (the server itself or a proxy).
    pub fn url_via(&self, port: Option<u16>) -> String {
        let url = url::Url::parse(&self.base).expect("REPORTD_TEST_PG_URL is a URL");
        let mut u = url.clone();
        u.set_path(&self.name);
        if let Some(p) = port {
            u.set_host(Some("127.0.0.1")).unwrap();
            u.set_port(Some(p)).unwrap();
        }
        u.to_string()
    }

    pub fn server_port(&self) -> u16 {
        url::Url::parse(&self.base).unwrap().port().unwrap_or(5432)
    }

    /// Runs one SQL statement with psql on the database; its output (`-At`).
    pub fn psql(&self, sql: &str) -> String {
        let o = Command::new("psql")
            .args([
                self.url_via(None).as_str(),
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            o.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.base.as_str(),
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// A server process, stopped on drop.
pub struct Node {
    pub inst: Instance,
    pub port: u16,
    pub child: Child,
}

impl Node {
    /// Stops the server and returns what it logged (for failure messages).
    pub fn log(&mut self) -> String {
        let _ = self.child.kill();
        let mut out = String::new();
        if let Some(e) = self.child.stderr.as_mut() {
            let _ = e.read_to_string(&mut out);
        }
        out
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// This node's installation id.
    pub fn id(&self) -> String {
        node_entry(&nodes_of(self), self.port)["InstallationID"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Initializes a data dir on `url` (the first one creates the catalog and its
/// administrator) and starts its server.
pub fn start_node(url: &str, first: bool) -> Node {
    start_node_on(url, first, &Sockets::new(1))
}

/// [`start_node`] on `sockets` (the first one is the node's http port; the others are
/// handed to the server as well, for the test to bind).
pub fn start_node_on(url: &str, first: bool, sockets: &Sockets) -> Node {
    let inst = Instance::new();
    let port = sockets.port(0);
    if first {
        inst.init_admin(port, "cluster admin pw");
    } else {
        inst.ok(&["init", "--http-port", &port.to_string()]);
    }
    inst.ok(&["database", "create", "--url", url]);
    let child = inst.spawn_server(sockets);
    inst.wait_running();
    Node { inst, port, child }
}

/// Starts a server on `inst`'s data dir (after removing a stale socket and pid file) that
/// must refuse to run; returns what it printed on stderr. `what` names it in the failure.
pub fn refused_start(inst: &Instance, what: &str) -> String {
    let _ = std::fs::remove_file(inst.dir.join("reportd.sock"));
    let _ = std::fs::remove_file(inst.dir.join("reportd.pid"));
    let sockets = Sockets::new(1);
    let mut child = inst.spawn_server(&sockets);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "{what} was not refused");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "{err}");
    err
}

/// Waits until `node` serves its Web Service (200).
pub fn wait_serving(node: &Node) {
    let t = Instant::now();
    while curl(&format!("{}/ReportServer", node.base()), Some(ADMIN), &[]).status != 200 {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "node on port {} never served",
            node.port
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Joins the waiting `nodes` from `by` and waits until each serves.
pub fn join(by: &Node, nodes: &[&Node]) {
    let all = nodes_of(by);
    for n in nodes {
        let id = node_entry(&all, n.port)["InstallationID"]
            .as_str()
            .unwrap()
            .to_owned();
        by.inst.ok(&["cluster", "join", &id]);
    }
    for n in nodes {
        wait_serving(n);
    }
}

pub fn nodes_of(node: &Node) -> Vec<serde_json::Value> {
    let out = node.inst.ok(&["cluster", "status", "--json"]);
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub fn node_entry(nodes: &[serde_json::Value], port: u16) -> serde_json::Value {
    nodes
        .iter()
        .find(|n| {
            n["Urls"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u.as_str().unwrap().contains(&format!(":{port}")))
        })
        .unwrap_or_else(|| panic!("no node serves port {port}: {nodes:?}"))
        .clone()
}
