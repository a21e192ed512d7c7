//! Helpers of the certificate-source tests (cert_replace, cert_watch, acme): a running
//! instance with an https reservation, certificate pairs made with the openssl CLI, and
//! what `openssl s_client` sees.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

pub const ADMIN: &str = "admin:admin password 1";

/// `openssl req` arguments for a new unencrypted P-256 key.
pub const NEW_P256_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

/// True when `tool` runs; otherwise prints `skipped: ...` and fails under CI=true.
pub fn have(tool: &str, why: &str) -> bool {
    let ok = tool_runs(tool, if tool == "openssl" { "version" } else { "-h" });
    if !ok {
        return skipped(&format!("{tool} is not installed ({why})"));
    }
    ok
}

/// A server on an http port (socket 0) with an https reservation of the Web Service on
/// socket 1.
pub struct Running {
    pub inst: Instance,
    pub child: std::process::Child,
    pub sockets: Sockets,
}

impl Running {
    pub fn http(&self) -> u16 {
        self.sockets.port(0)
    }
    pub fn https(&self) -> u16 {
        self.sockets.port(1)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.inst.tmp.path().join(name)
    }
    /// `reportctl status --json` warnings.
    pub fn warnings(&self) -> Vec<String> {
        self.inst.warnings()
    }
    /// The portal's admin banner (the `admin-banner` section of the portal's home page,
    /// fetched as the administrator; empty when there is none).
    pub fn banner(&self) -> String {
        let r = curl(
            &format!("http://127.0.0.1:{}/Reports/browse/", self.http()),
            Some(ADMIN),
            &[],
        );
        assert_eq!(r.status, 200, "{r:?}");
        banner_of(&r.body)
    }
    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("server.log")).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `admin-banner` section of a portal page (empty when there is none).
pub fn banner_of(page: &str) -> String {
    let Some(at) = page.find("admin-banner") else {
        return String::new();
    };
    let end = page[at..].find("</section>").map_or(page.len(), |e| at + e);
    page[at..end].to_owned()
}

/// `reportd serve` on `sockets`, logging (stderr) into `server.log`, appended.
fn spawn(inst: &Instance, sockets: &Sockets) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(inst.tmp.path().join("server.log"))
        .unwrap();
    let mut cmd = Command::new(REPORTD);
    cmd.arg("--data-dir")
        .arg(&inst.dir)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    sockets.pass(&mut cmd);
    cmd.spawn().unwrap()
}

impl Running {
    /// Stops the server (SIGKILL) and starts it again on the same sockets.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&self.inst, &self.sockets);
        self.inst.wait_running();
    }
}

pub fn started() -> Running {
    let inst = Instance::new();
    let sockets = Sockets::new(2);
    inst.init_admin(sockets.port(0), "admin password 1");
    inst.ok(&["database", "create"]);
    let child = spawn(&inst, &sockets);
    inst.wait_running();
    // Reserved while the server runs: it serves the port from the socket it was handed.
    inst.ok(&[
        "url",
        "reserve",
        "webservice",
        &format!("https://+:{}", sockets.port(1)),
    ]);
    Running {
        inst,
        child,
        sockets,
    }
}

/// A self-signed server certificate and key made by openssl in `dir` as `NAME.pem` and
/// `NAME.key`; returns the paths and the SHA-1 thumbprint.
pub fn openssl_pair(dir: &Path, name: &str, cn: &str) -> (PathBuf, PathBuf, String) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let o = Command::new("openssl")
        .args(["req", "-x509"])
        .args(NEW_P256_KEY)
        .args(["-days", "90", "-subj", &format!("/CN={cn}")])
        .args([
            "-addext",
            &format!("subjectAltName=DNS:{cn},DNS:localhost,IP:127.0.0.1"),
        ])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = file_thumbprint(&cert);
    (cert, key, t)
}

/// SHA-1 thumbprint of the first certificate of a PEM file.
pub fn file_thumbprint(pem: &Path) -> String {
    let o = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
        .arg(pem)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    s.split('=').nth(1).unwrap().trim().replace(':', "")
}

pub use crate::common::served;

/// Waits up to `secs` for `f` to hold.
pub fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "not within {secs} s: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The first 40-hex-digit word of `out`.
pub fn thumbprint_in(out: &str) -> String {
    out.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 40)
        .unwrap_or_else(|| panic!("no thumbprint in {out:?}"))
        .to_owned()
}

/// A curl loop against `url` until `stop` is set: (requests, failures with their reasons).
pub fn curl_loop(
    url: String,
    extra: Vec<String>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    std::thread::spawn(move || {
        let mut n = 0;
        let mut failed = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            let r = curl(&url, Some(ADMIN), &extra);
            n += 1;
            if r.status != 200 {
                failed.push(format!(
                    "status {} {}",
                    r.status,
                    r.body.chars().take(200).collect::<String>()
                ));
            }
        }
        (n, failed)
    })
}
