//! Concurrent changes from two front ends plus `kill -9`: rounds of `reportctl` processes
//! (the CLI, and `reportctl wmi`, which the running server executes in-process through the
//! management API) creating self-signed certificates, binding and unbinding them, reserving
//! and removing URLs and removing certificates (some refused: a binding uses them), some of
//! them killed with SIGKILL at random moments, and the server itself killed once and started
//! again. After every round: the binding repository, reportd.toml and the certificate store
//! load with the crates' own loaders, reportd.toml matches the repository, no binding names a
//! certificate that is not in store My, and `openssl s_client` on each https port sees the
//! certificate the repository binds there (or no handshake where none is bound).
//!
//! The RNG seed is printed; `CONCURRENCY_SEED=N` replays a run, `CONCURRENCY_ROUNDS=N` sets
//! the number of rounds, `CONCURRENCY_VERBOSE=1` prints what each process did.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use certstore::{CertStore, StoreName, Thumbprint};
use common::*;
use httpsys::{Endpoint, Repository};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Processes started per round.
const PER_ROUND: usize = 8;
/// Https ports (sockets 1..=HTTPS) each reserved for the web service.
const HTTPS: usize = 3;

fn thumbprint_in(out: &str) -> Option<String> {
    out.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 40)
        .map(str::to_owned)
}

/// SHA-1 fingerprint (upper-case hex) of the certificate served on 127.0.0.1:port for SNI
/// `localhost`; None when no handshake completes.
fn served_thumbprint(port: u16) -> Option<String> {
    let mut c = Command::new("timeout")
        .args(["10", "openssl", "s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", "localhost"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    drop(c.stdin.take());
    let o = c.wait_with_output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if !out.contains("Cipher is ") || out.contains("Cipher is (NONE)") {
        return None;
    }
    pem_sha1(&out)
}

/// `reportd serve` with the test's sockets, its log in a file (a pipe nobody reads would
/// block it once full).
fn spawn_server(inst: &Instance, sockets: &Sockets, n: usize) -> Child {
    let log = std::fs::File::create(inst.tmp.path().join(format!("server{n}.log"))).unwrap();
    let mut cmd = Command::new(REPORTD);
    cmd.arg("--data-dir")
        .arg(&inst.dir)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    sockets.pass(&mut cmd);
    let child = cmd.spawn().unwrap();
    inst.wait_running();
    child
}

/// One random change, as reportctl arguments.
fn pick_change(rng: &mut StdRng, ports: &[u16], thumbs: &[String]) -> Vec<String> {
    let port = ports[rng.gen_range(0..ports.len())];
    let ipport = format!("0.0.0.0:{port}");
    let thumb = thumbs[rng.gen_range(0..thumbs.len())].clone();
    let portal = format!("https://+:{port}/");
    let v: Vec<&str> = match rng.gen_range(0..9) {
        0 => vec!["cert", "new-self-signed", "--dns-name", "localhost"],
        1 | 2 => vec!["ssl", "bind", "webservice", &thumb, "--ipport", &ipport],
        3 => vec!["ssl", "unbind", "webservice", "--ipport", &ipport],
        4 => vec!["cert", "remove", &thumb],
        5 => vec!["url", "reserve", "portal", &portal],
        6 => vec!["url", "remove", "portal", &portal],
        n => {
            let method = if n == 7 {
                "CreateSSLCertificateBinding"
            } else {
                "RemoveSSLCertificateBindings"
            };
            return ["wmi", method, "Application=ReportServerWebService"]
                .iter()
                .map(|s| s.to_string())
                .chain([
                    format!("CertificateHash={}", thumb.to_ascii_lowercase()),
                    "IPAddress=0.0.0.0".into(),
                    format!("Port={port}"),
                    "Lcid=1033".into(),
                ])
                .collect();
        }
    };
    v.into_iter().map(str::to_owned).collect()
}

/// What one process did.
struct Run {
    args: Vec<String>,
    killed: bool,
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `args` after `delay`, SIGKILLs it `kill_after` after its start (if given).
fn run_one(
    inst_dir: std::path::PathBuf,
    args: Vec<String>,
    delay: Duration,
    kill_after: Option<Duration>,
) -> Run {
    std::thread::sleep(delay);
    let mut child = Command::new(REPORTCTL)
        .arg("--data-dir")
        .arg(&inst_dir)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut killed = false;
    if let Some(k) = kill_after {
        std::thread::sleep(k);
        killed = child.kill().is_ok() && child.try_wait().ok().flatten().is_none();
    }
    let o = child.wait_with_output().unwrap();
    Run {
        args,
        killed: killed && !o.status.success() && o.status.code().is_none(),
        ok: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The files' invariants: everything loads and no binding names a certificate that is not
/// in store My. Returns the repository.
fn check_files(inst: &Instance, what: &str) -> Repository {
    let dd = datadir::DataDir::new(&inst.dir);
    let repo = Repository::load(&dd)
        .unwrap_or_else(|e| panic!("{what}: the binding repository does not load: {e}"));
    let cfg = dd
        .load_config()
        .unwrap_or_else(|e| panic!("{what}: reportd.toml does not load: {e}"));
    let _ = cfg;
    let store = CertStore::open(&dd.certs_dir())
        .unwrap_or_else(|e| panic!("{what}: the certificate store does not open: {e}"));
    for s in [StoreName::My, StoreName::Root] {
        store
            .list(s)
            .unwrap_or_else(|e| panic!("{what}: store {s:?} does not list: {e}"));
    }
    for b in &repo.ssl_bindings {
        let t: Thumbprint = b.thumbprint.parse().unwrap();
        assert!(
            store.contains(StoreName::My, &t),
            "{what}: SSL binding {} names certificate {} which is not in store My",
            b.endpoint,
            b.thumbprint
        );
    }
    repo
}

/// The invariants after a round and one more change; `what` names the round.
fn check_state(inst: &Instance, ports: &[u16], what: &str) {
    let repo = check_files(inst, what);
    let dd = datadir::DataDir::new(&inst.dir);
    let cfg = dd.load_config().unwrap();
    if let Some(d) = cfg.drift(&repo.repr()) {
        panic!("{what}: reportd.toml does not match the repository: {d}");
    }
    // The server applied the version last committed (every change raises it).
    let status: serde_json::Value = serde_json::from_str(&inst.ok(&["status", "--json"])).unwrap();
    assert_eq!(
        status["binding_version"],
        serde_json::json!(repo.version),
        "{what}: the server applied another repository version than the files hold"
    );
    for &port in ports {
        let want = repo
            .binding(&Endpoint::IpPort(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))
            .map(|b| b.thumbprint.to_ascii_uppercase());
        let got = served_thumbprint(port);
        assert_eq!(
            got, want,
            "{what}: port {port} serves {got:?}, the repository binds {want:?}"
        );
    }
}

#[test]
fn concurrent_changes_and_kill_9_keep_files_and_server_consistent() {
    let openssl = Command::new("openssl").arg("version").output();
    if !openssl.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the openssl CLI is missing (it is the outside TLS client here)"
        );
        eprintln!("skipped: no openssl CLI to check what the server serves");
        return;
    }
    let seed: u64 = std::env::var("CONCURRENCY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261201);
    let rounds: usize = std::env::var("CONCURRENCY_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    eprintln!("concurrency: seed {seed} (CONCURRENCY_SEED), {rounds} rounds (CONCURRENCY_ROUNDS)");
    let verbose = std::env::var_os("CONCURRENCY_VERBOSE").is_some();
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();

    let inst = Instance::new();
    let sockets = Sockets::new(1 + HTTPS);
    let ports: Vec<u16> = (1..=HTTPS).map(|i| sockets.port(i)).collect();
    inst.ok(&["init", "--http-port", &sockets.port(0).to_string()]);
    let mut thumbs: Vec<String> = (0..3)
        .map(|_| {
            thumbprint_in(&inst.ok(&["cert", "new-self-signed", "--dns-name", "localhost"]))
                .unwrap()
        })
        .collect();
    let mut server = spawn_server(&inst, &sockets, 0);
    for p in &ports {
        inst.ok(&["url", "reserve", "webservice", &format!("https://+:{p}")]);
    }
    inst.ok(&[
        "ssl",
        "bind",
        "webservice",
        &thumbs[0],
        "--ipport",
        &format!("0.0.0.0:{}", ports[0]),
    ]);
    check_state(&inst, &ports, "start");
    // An Apply older than what the server applied (one that arrives late) changes nothing.
    {
        let dd = datadir::DataDir::new(&inst.dir);
        let version = Repository::load(&dd).unwrap().version;
        assert!(
            version >= 4,
            "reserve x{HTTPS} + bind raised the version: {version}"
        );
        let mut c = mgmt::Client::connect(&dd).unwrap().unwrap();
        let r = c
            .call_ok(&mgmt::Request::Apply {
                version: Some(version - 1),
            })
            .unwrap();
        assert!(
            r.changes
                .iter()
                .any(|c| !c.is_warning() && c.text.contains("older than the applied version")),
            "{:?}",
            r.changes
        );
    }

    let server_kill_round = rounds / 2;
    let (mut killed, mut refused_removals, mut succeeded, mut failed) = (0, 0, 0, 0);
    let mut restarts = 0;
    for round in 0..rounds {
        // One removal of a certificate bound now: refused unless a concurrent change
        // unbinds it first.
        let dd = datadir::DataDir::new(&inst.dir);
        let bound: Vec<String> = Repository::load(&dd)
            .unwrap()
            .ssl_bindings
            .iter()
            .map(|b| b.thumbprint.clone())
            .collect();
        let mut plans: Vec<(Vec<String>, Duration, Option<Duration>)> = Vec::new();
        if let Some(t) = bound.first() {
            plans.push((
                vec!["cert".into(), "remove".into(), t.clone()],
                Duration::from_millis(rng.gen_range(0..30)),
                None,
            ));
        }
        // A certificate bound nowhere, bound and removed at the same moment: the removal
        // must not slip in between the binding's check of the certificate and its commit.
        if let Some(t) = thumbs.iter().rev().find(|t| !bound.contains(t)) {
            let port = ports[rng.gen_range(0..ports.len())];
            let at = Duration::from_millis(rng.gen_range(0..30));
            plans.push((
                vec!["cert".into(), "remove".into(), t.clone()],
                at + Duration::from_micros(rng.gen_range(0..8_000)),
                None,
            ));
            plans.push((
                ["ssl", "bind", "webservice", t, "--ipport"]
                    .iter()
                    .map(|s| s.to_string())
                    .chain([format!("0.0.0.0:{port}")])
                    .collect(),
                at,
                None,
            ));
        }
        while plans.len() < PER_ROUND {
            let args = pick_change(&mut rng, &ports, &thumbs);
            let delay = Duration::from_millis(rng.gen_range(0..40));
            let kill = rng
                .gen_bool(0.3)
                .then(|| Duration::from_micros(rng.gen_range(0..60_000)));
            plans.push((args, delay, kill));
        }
        let runs = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = plans
            .into_iter()
            .map(|(args, delay, kill)| {
                let dir = inst.dir.clone();
                let runs = runs.clone();
                std::thread::spawn(move || {
                    let r = run_one(dir, args, delay, kill);
                    runs.lock().unwrap().push(r);
                })
            })
            .collect();
        if round == server_kill_round {
            std::thread::sleep(Duration::from_millis(rng.gen_range(5..50)));
            let _ = server.kill(); // SIGKILL
            let _ = server.wait();
        }
        for h in handles {
            h.join().unwrap();
        }
        if round == server_kill_round {
            restarts += 1;
            server = spawn_server(&inst, &sockets, restarts);
        }
        let runs = std::mem::take(&mut *runs.lock().unwrap());
        for r in &runs {
            if r.killed {
                killed += 1;
            } else if r.ok {
                succeeded += 1;
            } else {
                failed += 1;
                if r.args[..2] == ["cert", "remove"] && r.stderr.contains("is used by") {
                    refused_removals += 1;
                }
            }
            if verbose {
                let why = r.stderr.lines().next().unwrap_or("");
                let how = if r.killed {
                    "killed"
                } else if r.ok {
                    "ok"
                } else {
                    "failed"
                };
                eprintln!("round {round}: {how}: {} {why}", r.args.join(" "));
            }
            if r.ok
                && r.args[..2] == ["cert", "new-self-signed"]
                && let Some(t) = thumbprint_in(&r.stdout)
            {
                thumbs.push(t);
            }
            // No front end panics, whatever it was asked or whenever it was killed.
            assert!(
                !r.stderr.contains("panicked"),
                "round {round}: reportctl {:?} panicked: {}",
                r.args,
                r.stderr
            );
        }
        // The files as the round left them, before anything repairs them.
        check_files(&inst, &format!("round {round} (seed {seed}), as left"));
        // A writer killed after committing but before the server applied leaves the server
        // one change behind until the next change applies: make one (a setting).
        inst.ok(&[
            "config",
            "set",
            "MaxUploadSizeMB",
            &(100 + round).to_string(),
        ]);
        check_state(&inst, &ports, &format!("round {round} (seed {seed})"));
        // Certificates added in the store by killed processes are candidates too.
        let dd = datadir::DataDir::new(&inst.dir);
        let known: BTreeSet<String> = thumbs.iter().cloned().collect();
        for c in CertStore::open(&dd.certs_dir())
            .unwrap()
            .list(StoreName::My)
            .unwrap()
        {
            let t = c.thumbprint.to_string();
            if !known.contains(&t) {
                thumbs.push(t);
            }
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    eprintln!(
        "concurrency: {rounds} rounds x {PER_ROUND} processes in {:.1} s: {succeeded} succeeded, {failed} refused or failed ({refused_removals} certificate removals refused: in use), {killed} killed with SIGKILL, server killed and restarted {restarts}x",
        started.elapsed().as_secs_f64()
    );
    assert!(killed > 0, "no process was killed: the test tested no kill");
    assert!(
        refused_removals > 0,
        "no certificate removal was refused: the test never raced a removal with a binding"
    );
    assert!(succeeded > 0, "no change succeeded");
}
