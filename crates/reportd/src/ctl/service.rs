//! `reportctl start|stop|restart|status`: the service state, as the Configuration
//! Manager's Report Server Status page shows it. Progress lines go to stdout.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use httpsys::Repository;
use mgmt::Client;
use mgmt::protocol::{Request, StatusInfo};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{Ctx, EXIT_STOPPED, print_json};

/// How long `start` waits for the server to answer, and `stop` for it to exit.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// The running server's status, or None when it is stopped.
pub fn running_status(ctx: &Ctx) -> anyhow::Result<Option<StatusInfo>> {
    let Some(mut c) = Client::connect(&ctx.dd)? else {
        return Ok(None);
    };
    Ok(c.call_ok(&Request::Status)?.status)
}

/// The `reportd` binary: $REPORTD_BIN, else the one beside this `reportctl`.
fn reportd_binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("REPORTD_BIN") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe().context("cannot find the reportctl executable")?;
    let p = me.with_file_name("reportd");
    if !p.exists() {
        bail!(
            "{} not found; install reportd beside reportctl or set REPORTD_BIN",
            p.display()
        );
    }
    Ok(p)
}

pub fn start(ctx: &Ctx) -> anyhow::Result<i32> {
    let dd = &ctx.dd;
    dd.require_initialized()?;
    if let Some(s) = running_status(ctx)? {
        println!("reportd is already running (pid {})", s.pid);
        print_urls(&s);
        return Ok(0);
    }
    dd.create_dirs()?;
    let bin = reportd_binary()?;
    let log_path = dd.log_path();
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open log file {}", log_path.display()))?;
    let log_start = log.seek(SeekFrom::End(0)).unwrap_or(0);
    println!("Starting reportd (data dir {})", dd.root().display());
    let mut cmd = Command::new(&bin);
    cmd.arg("--data-dir").arg(dd.root());
    if let Ok(sock) = dd.socket_path() {
        cmd.arg("--socket").arg(sock);
    }
    cmd.arg("serve")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C in this terminal does not reach the daemon.
        .process_group(0);
    // Listening sockets given to this command (LISTEN_FDS, socket activation) pass on to
    // the server: the descriptors are inherited as they are, and a LISTEN_PID that named
    // this process is dropped (reportd takes sockets without one). Sockets meant for
    // another process are not passed on.
    match std::env::var("LISTEN_PID") {
        Ok(pid) if pid.trim() == std::process::id().to_string() => {
            cmd.env_remove("LISTEN_PID");
        }
        Ok(_) => {
            cmd.env_remove("LISTEN_PID")
                .env_remove("LISTEN_FDS")
                .env_remove("LISTEN_FDNAMES");
        }
        Err(_) => {}
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    println!("Started process {}; waiting for it to serve", child.id());
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(code) = child.try_wait()? {
            let tail = log_tail(&log_path, log_start);
            bail!(
                "reportd exited during start ({code}); log {}: {}",
                log_path.display(),
                tail
            );
        }
        if let Ok(Some(s)) = running_status(ctx) {
            println!("reportd is running (pid {})", s.pid);
            print_urls(&s);
            return Ok(0);
        }
        if Instant::now() > deadline {
            bail!(
                "reportd did not answer within {}s; see {}",
                START_TIMEOUT.as_secs(),
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last error-looking lines the server logged since `from`, on one line.
fn log_tail(path: &std::path::Path, from: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let _ = f.seek(SeekFrom::Start(from));
    let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
    let picked: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("ERROR") || l.contains("error"))
        .collect();
    let src: Vec<&String> = if picked.is_empty() {
        lines.iter().collect()
    } else {
        picked
    };
    src.iter()
        .rev()
        .take(3)
        .rev()
        .map(|s| s.trim())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn print_urls(s: &StatusInfo) {
    for u in &s.urls {
        println!("  {u}");
    }
}

fn pid_alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

pub fn stop(ctx: &Ctx) -> anyhow::Result<i32> {
    let Some(s) = running_status(ctx)? else {
        println!("reportd is not running");
        return Ok(0);
    };
    let pid = s.pid as i32;
    println!("Stopping reportd (pid {pid})");
    // SIGTERM is what systemd sends too: same graceful path.
    kill(Pid::from_raw(pid), Signal::SIGTERM).context("cannot signal reportd")?;
    let deadline = Instant::now() + STOP_TIMEOUT;
    while pid_alive(pid) {
        if Instant::now() > deadline {
            bail!(
                "reportd (pid {pid}) did not stop within {}s",
                STOP_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("reportd stopped");
    Ok(0)
}

pub fn restart(ctx: &Ctx) -> anyhow::Result<i32> {
    stop(ctx)?;
    start(ctx)
}

pub fn status(ctx: &Ctx) -> anyhow::Result<i32> {
    let dd = &ctx.dd;
    dd.require_initialized()?;
    let info = running_status(ctx)?;
    // Warnings a stopped server cannot report.
    let mut warnings = Vec::new();
    if info.is_none() {
        let repo = Repository::load(dd)?;
        if let Some(w) = crate::serve::drift_warning(dd, &repo) {
            warnings.push(w);
        }
        warnings.extend(mgmt::ops::binding_problems(dd, &repo));
        if dd.load_config()?.settings.database_url.is_none() {
            warnings.push(
                "the report server database does not exist yet; run `reportctl database create`"
                    .into(),
            );
        }
    }
    let certs = match &info {
        Some(i) => i.certificates.clone(),
        None => {
            mgmt::ops::bound_certificates(dd, &Repository::load(dd)?, std::time::SystemTime::now())
        }
    };
    if info.is_none() {
        warnings.extend(mgmt::ops::expiry_warnings(&certs));
    }
    let code = if info.is_some() { 0 } else { EXIT_STOPPED };
    if ctx.json {
        // One object: the server's fields, `state`, and one `warnings` (the server's and
        // those only a stopped server's files show), never the key twice.
        let mut out = match &info {
            Some(i) => serde_json::to_value(i)?,
            None => serde_json::json!({}),
        };
        let mut all = info
            .as_ref()
            .map(|i| i.warnings.clone())
            .unwrap_or_default();
        all.extend(warnings);
        if let Some(o) = out.as_object_mut() {
            o.insert(
                "state".into(),
                (if info.is_some() { "running" } else { "stopped" }).into(),
            );
            o.insert("warnings".into(), all.into());
            o.insert("certificates".into(), serde_json::to_value(&certs)?);
            if info.is_none() {
                let repo = Repository::load(dd)?;
                let urls: Vec<String> = repo
                    .reservations
                    .iter()
                    .map(|r| crate::ctl::ssl::browse_url(&r.url, repo.vdir(r.app)))
                    .collect();
                o.insert("urls".into(), urls.into());
            }
        }
        print_json(&out)?;
        return Ok(code);
    }
    let print_certs = || {
        if !certs.is_empty() {
            println!("Certificates:");
        }
        for c in &certs {
            println!(
                "  {} {} {} ({})",
                c.endpoint,
                c.thumbprint,
                c.not_after,
                mgmt::ops::expiry_text(c.days_to_expiry)
            );
            // The library's warning says what to change; this front end says how.
            if c.days_to_expiry <= mgmt::ops::EXPIRY_WARN_DAYS {
                println!(
                    "    renew it, then `reportctl cert import --pfx NEW.pfx --password-file F --replace {}` (or `reportctl ssl update APP NEW_THUMBPRINT` on {})",
                    c.thumbprint, c.endpoint
                );
            }
        }
    };
    match info {
        Some(s) => {
            println!("State: running");
            println!("PID: {}", s.pid);
            println!("Version: {}", s.version);
            println!("Started: {}", s.started_at);
            println!("Uptime: {}s", s.uptime_seconds);
            println!("Ports: {}", s.ports.join(", "));
            println!(
                "Database: {}{}",
                s.database,
                s.database_backend
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default()
            );
            println!("URLs:");
            for u in &s.urls {
                println!("  {u}");
            }
            print_certs();
            for w in s.warnings.iter().chain(&warnings) {
                println!("Warning: {w}");
            }
        }
        None => {
            println!("State: stopped");
            let repo = Repository::load(dd)?;
            println!("URLs (when running):");
            for r in &repo.reservations {
                println!(
                    "  {}",
                    crate::ctl::ssl::browse_url(&r.url, repo.vdir(r.app))
                );
            }
            print_certs();
            for w in &warnings {
                println!("Warning: {w}");
            }
        }
    }
    Ok(code)
}
