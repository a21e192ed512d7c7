//! Several nodes on one PostgreSQL catalog, with the real binaries and curl: a change
//! written through one node is seen by another at once (`pg_notify` + the node's listener),
//! and a node whose database goes away answers fast 503s and recovers by itself.
//!
//! Needs PostgreSQL (`REPORTD_TEST_PG_URL`); prints `skipped:` without it, fails under
//! `CI=true`. Each test works in a fresh database it drops at the end.

mod common;
#[path = "common/pgcluster.rs"]
mod pgcluster;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Instance, curl};
use pgcluster::{
    ADMIN, FreshDb, Node, join, node_entry, nodes_of, pg_base, refused_start, start_node,
};

/// Names in the REST listing of the whole catalog (cached per generation on the node).
fn listed(node: &Node) -> String {
    let r = curl(
        &format!("{}/Reports/api/v2.0/CatalogItems", node.base()),
        Some(ADMIN),
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// One GET over a plain socket, timed in the test process (no curl start-up in the
/// figure): the status code.
fn timed_get(port: u16, path: &str) -> (u16, Duration) {
    let t = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic YWRtaW46Y2x1c3RlciBhZG1pbiBwdw==\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    (status, t.elapsed())
}

fn create_folder(node: &Node, name: &str) {
    let body = format!(r##"{{"@odata.type":"#Model.Folder","Name":"{name}","Path":"/{name}"}}"##);
    let r = curl(
        &format!("{}/Reports/api/v2.0/CatalogItems", node.base()),
        Some(ADMIN),
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            &body,
        ],
    );
    assert_eq!(r.status, 201, "{r:?}");
}

#[test]
fn a_change_through_node_1_is_listed_by_node_3_within_a_second() {
    let Some(base) = pg_base() else { return };
    let db = FreshDb::new(&base);
    let url = db.url_via(None);
    let n1 = start_node(&url, true);
    let n2 = start_node(&url, false);
    let n3 = start_node(&url, false);
    join(&n1, &[&n2, &n3]);

    let mut figures = Vec::new();
    for i in 0..8 {
        let name = format!("Upload{i}");
        // Node 3 has just listed (and cached) the catalog: without a notification it would
        // serve that listing until its generation poll (1 s) asks the database again.
        assert!(!listed(&n3).contains(&name));
        create_folder(&n1, &name);
        let written = Instant::now();
        loop {
            if listed(&n3).contains(&name) {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(5),
                "node 3 never listed {name}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        figures.push(written.elapsed());
    }
    figures.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "node 1 write -> node 3 listing: median {:.1} ms, max {:.1} ms over {} writes (one listing by curl ~ {:.1} ms)",
        ms(&figures[figures.len() / 2]),
        ms(figures.last().unwrap()),
        figures.len(),
        {
            let t = Instant::now();
            listed(&n3);
            ms(&t.elapsed())
        }
    );
    assert!(
        *figures.last().unwrap() < Duration::from_secs(1),
        "{figures:?}"
    );
    drop(n1);
}

/// A TCP proxy between the server and PostgreSQL that the test takes away (listening socket
/// closed, so new connections are refused, and every open connection cut) and brings back on
/// the same port.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn new(upstream: u16) -> Proxy {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let (up2, stop2) = (up.clone(), stop.clone());
        std::thread::spawn(move || {
            let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
            let mut listener = Some(first);
            while !stop2.load(Ordering::SeqCst) {
                match (&listener, up2.load(Ordering::SeqCst)) {
                    (Some(_), false) => {
                        listener = None;
                        for c in conns.lock().unwrap().drain(..) {
                            let _ = c.shutdown(Shutdown::Both);
                        }
                    }
                    (None, true) => {
                        listener = Some(TcpListener::bind(("127.0.0.1", port)).unwrap());
                    }
                    (Some(l), true) => {
                        l.set_nonblocking(true).unwrap();
                        if let Ok((client, _)) = l.accept() {
                            client.set_nonblocking(false).unwrap();
                            if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) {
                                let mut all = conns.lock().unwrap();
                                all.push(client.try_clone().unwrap());
                                all.push(server.try_clone().unwrap());
                                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                                pipe(server, client);
                            }
                            continue;
                        }
                    }
                    (None, false) => {}
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Proxy { port, up, stop }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

#[test]
fn while_the_database_is_away_requests_get_fast_503s_and_the_node_recovers() {
    let Some(base) = pg_base() else { return };
    let db = FreshDb::new(&base);
    let proxy = Proxy::new(db.server_port());
    let mut node = start_node(&db.url_via(Some(proxy.port)), true);
    let page = format!("{}/ReportServer", node.base());
    assert_eq!(curl(&page, Some(ADMIN), &[]).status, 200);

    proxy.set_up(false);
    // Until a request reaches the database (the generation poll, at most GENERATION_TTL
    // after the last read, or the listener noticing the cut), cached pages may still be
    // served: wait for the first 503.
    let cut = Instant::now();
    let mut first = curl(&page, Some(ADMIN), &[]);
    while first.status == 200 && cut.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
        first = curl(&page, Some(ADMIN), &[]);
    }
    let first_503 = cut.elapsed();
    if first.status != 503 {
        panic!("{first:?}\nserver log:\n{}", node.log());
    }
    assert!(
        first
            .body
            .contains("report server database is not answering"),
        "{}",
        first.body
    );
    let mut times = Vec::new();
    for _ in 0..20 {
        let (status, took) = timed_get(node.port, "/ReportServer");
        times.push(took);
        if status != 503 {
            panic!("{status}\nserver log:\n{}", node.log());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "database away: first 503 {:.1} ms after the cut, then 503s in max {:.1} ms over {} requests",
        ms(&first_503),
        times.iter().map(ms).fold(0.0, f64::max),
        times.len()
    );
    for t in &times {
        assert!(*t < Duration::from_millis(100), "{times:?}");
    }

    proxy.set_up(true);
    let back = Instant::now();
    loop {
        let r = curl(&page, Some(ADMIN), &[]);
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "{r:?}");
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "the node did not recover"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "database back: served again after {:.1} ms",
        ms(&back.elapsed())
    );
    let _ = node.inst.ctl(&["status"]);
}

#[test]
fn nodes_register_join_and_remove_and_a_copied_data_dir_is_refused() {
    let Some(base) = pg_base() else { return };
    let db = FreshDb::new(&base);
    let url = db.url_via(None);
    let n1 = start_node(&url, true);
    let n2 = start_node(&url, false);

    let nodes = nodes_of(&n1);
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    let (e1, e2) = (node_entry(&nodes, n1.port), node_entry(&nodes, n2.port));
    assert_eq!(e1["State"], "joined", "{e1}");
    assert_eq!(e2["State"], "waiting", "{e2}");
    for e in [&e1, &e2] {
        assert!(e["LastSeen"].is_string() && e["Alive"] == true, "{e}");
    }
    let id2 = e2["InstallationID"].as_str().unwrap().to_owned();
    let id1 = e1["InstallationID"].as_str().unwrap().to_owned();
    assert_ne!(id1, id2);

    // A waiting node answers 503 until joined, and cannot join others; a joined one can,
    // and the waiting node serves by itself (its next heartbeat) without a restart.
    let page2 = format!("{}/ReportServer", n2.base());
    let r = curl(&page2, Some(ADMIN), &[]);
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.body.contains("waiting to be joined"), "{}", r.body);
    let err = n2.inst.fails(&["cluster", "join", &id2]);
    assert!(err.contains("is waiting and holds no cluster key"), "{err}");
    n1.inst.ok(&["cluster", "join", &id2]);
    let joined = Instant::now();
    assert_eq!(node_entry(&nodes_of(&n2), n2.port)["State"], "joined");
    while curl(&page2, Some(ADMIN), &[]).status != 200 {
        assert!(
            joined.elapsed() < Duration::from_secs(10),
            "node 2 never served"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "cluster join: node 2 serves {:.1} s after the join (heartbeat every 3 s)",
        joined.elapsed().as_secs_f64()
    );
    let err = n1
        .inst
        .fails(&["cluster", "join", "00000000-0000-0000-0000-000000000000"]);
    assert!(err.contains("cluster status"), "{err}");
    n1.inst.ok(&["cluster", "remove", &id2]);
    assert_eq!(node_entry(&nodes_of(&n1), n2.port)["State"], "removed");
    let removed = Instant::now();
    loop {
        let r = curl(&page2, Some(ADMIN), &[]);
        if r.status == 503 {
            assert!(r.body.contains("removed from its cluster"), "{}", r.body);
            break;
        }
        assert!(
            removed.elapsed() < Duration::from_secs(10),
            "node 2 still serves"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A copy of node 1's data dir (same installation) is refused while node 1 runs.
    let copy = Instance::new();
    let o = Command::new("cp")
        .args([
            "-a",
            n1.inst.dir.to_str().unwrap(),
            copy.dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = refused_start(&copy, "the copy");
    assert!(
        err.contains(&id1) && err.contains("already running on host") && err.contains("a copy"),
        "{err}"
    );
    // Node 1 is untouched.
    assert_eq!(nodes_of(&n1).len(), 2);
    assert_eq!(
        curl(&format!("{}/ReportServer", n1.base()), Some(ADMIN), &[]).status,
        200
    );
}
