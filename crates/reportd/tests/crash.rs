//! Crash safety of the binding repository: `kill -9` of `reportctl` at random points during
//! 100 binding changes leaves a repository (and reportd.toml) that loads and equals either
//! the state before or the state after the interrupted change.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use httpsys::Repository;
use rand::Rng;

/// The repository's content: every commit and undo raises `version`, so two loads of the same
/// bindings differ in it; the test asks whether the bindings are the old or the new ones.
fn content(mut repo: Repository) -> Repository {
    repo.version = 0;
    repo
}

#[test]
fn kill_9_during_binding_changes_leaves_old_or_new_state() {
    let inst = Instance::new();
    // A running server (given both ports as bound sockets) applies every change; a kill
    // lands before, during or after its Apply.
    let sockets = Sockets::new(2);
    inst.ok(&["init", "--http-port", &sockets.port(0).to_string()]);
    let out = inst.ok(&["cert", "new-self-signed", "--dns-name", "localhost"]);
    let t = out
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 40)
        .unwrap()
        .to_owned();
    let port = sockets.port(1);
    let mut server = inst.spawn_server(&sockets);
    inst.wait_running();
    inst.ok(&["url", "reserve", "webservice", &format!("https://+:{port}")]);
    let dd = datadir::DataDir::new(&inst.dir);
    let unbound = content(Repository::load(&dd).unwrap());
    inst.ok(&[
        "ssl",
        "bind",
        "webservice",
        &t,
        "--ipport",
        &format!("0.0.0.0:{port}"),
    ]);
    let bound = content(Repository::load(&dd).unwrap());
    assert_ne!(unbound, bound);

    let mut rng = rand::thread_rng();
    let (mut interrupted, mut completed) = (0, 0);
    for i in 0..100 {
        let before = content(Repository::load(&dd).unwrap());
        let args: Vec<String> = if before == bound {
            ["ssl", "unbind", "webservice", "--ipport"]
                .iter()
                .map(|s| s.to_string())
                .chain([format!("0.0.0.0:{port}")])
                .collect()
        } else {
            ["ssl", "bind", "webservice", t.as_str(), "--ipport"]
                .iter()
                .map(|s| s.to_string())
                .chain([format!("0.0.0.0:{port}")])
                .collect()
        };
        let mut child = Command::new(REPORTCTL)
            .arg("--data-dir")
            .arg(&inst.dir)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Anywhere from before it starts to after it is done (a run takes a few ms).
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..15_000)));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if status.success() {
            completed += 1;
        } else {
            interrupted += 1;
        }
        let after = content(
            Repository::load(&dd)
                .unwrap_or_else(|e| panic!("change {i}: repository does not load: {e}")),
        );
        assert!(
            after == unbound || after == bound,
            "change {i}: repository is neither state: {after:?}"
        );
        let cfg = dd
            .load_config()
            .unwrap_or_else(|e| panic!("change {i}: reportd.toml does not load: {e}"));
        assert!(
            cfg.drift(&after.repr()).is_none() || cfg.drift(&before.repr()).is_none(),
            "change {i}: reportd.toml matches neither state"
        );
    }
    let _ = server.kill();
    let _ = server.wait();
    eprintln!("100 changes: {interrupted} killed, {completed} completed");
    assert!(
        interrupted > 0,
        "no change was interrupted; the test did not test anything"
    );
}
