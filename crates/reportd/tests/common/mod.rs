//! Helpers shared by the integration tests: run the real binaries, talk HTTP with curl.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const REPORTCTL: &str = env!("CARGO_BIN_EXE_reportctl");
pub const REPORTD: &str = env!("CARGO_BIN_EXE_reportd");

/// A temp data dir with helpers to run reportctl/reportd on it.
pub struct Instance {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Instance {
    pub fn new() -> Instance {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        Instance { tmp, dir }
    }

    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// Runs reportctl with `--data-dir`; returns the output (any exit code).
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(REPORTCTL)
            .arg("--data-dir")
            .arg(&self.dir)
            .args(args)
            .env("REPORTD_BIN", REPORTD)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs reportctl and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.ctl(args);
        assert!(
            o.status.success(),
            "reportctl {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs reportctl and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.ctl(args);
        assert!(
            !o.status.success(),
            "reportctl {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    /// Starts `reportd serve` in the foreground as a child process.
    pub fn spawn_server(&self) -> Child {
        Command::new(REPORTD)
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts on 127.0.0.1:port.
pub fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn port_closed(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

/// An HTTP answer seen by curl.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// GET `url` with curl, optionally with Basic credentials `user:pass`.
pub fn curl(url: &str, creds: Option<&str>, extra: &[&str]) -> Reply {
    let tmp = tempfile::tempdir().unwrap();
    let hdr = tmp.path().join("h");
    let mut c = Command::new("curl");
    c.args(["-sS", "--path-as-is", "-o", "-", "-D"])
        .arg(&hdr)
        .args(["-w", "\n%{http_code}"]);
    if let Some(u) = creds {
        c.args(["-u", u]);
    }
    c.args(extra).arg(url);
    let o = c.output().expect("curl runs");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", "0"));
    Reply {
        status: code.trim().parse().unwrap_or(0),
        headers: std::fs::read_to_string(&hdr).unwrap_or_default(),
        body: body.to_owned(),
    }
}

pub fn read_to_string(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}
