//! Where the server's log lines go, bounded: no client can fill the disk through the log.
//!
//! [`LogSink`] is the `tracing` writer of `reportd`. It bounds the log three ways:
//! - **rotation by size**: when stderr is a regular file (as `reportctl start` arranges:
//!   `logs/reportd.log`), the sink writes that file itself and rotates it at
//!   `LogMaxSizeMB`, keeping `LogMaxFiles` rotated files (`reportd.log.1` newest); at most
//!   `(LogMaxFiles + 1) × LogMaxSizeMB` on disk. A terminal or the journal is written as is
//!   (journald bounds its own storage);
//! - **repeats held back**: an INFO/WARN/ERROR call site writes at most [`BURST`] lines per
//!   [`WINDOW`]; what it held back is reported once per window as "(repeated N times in
//!   the last 10 s)". DEBUG and TRACE are opt-in (`REPORTD_LOG`) and not limited;
//! - **line length**: one event is at most [`MAX_LINE`] bytes (the rest is cut, marked).
//!
//! Client-controlled values are escaped and truncated where they are logged
//! (`httpsys::logsafe`); this is the backstop.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Lines one call site may write per window.
pub const BURST: u32 = 20;
/// The window of [`BURST`].
pub const WINDOW: Duration = Duration::from_secs(10);
/// Longest log event written, bytes.
pub const MAX_LINE: usize = 2 * 1024;

/// Where lines go.
enum Target {
    Stderr,
    File {
        path: PathBuf,
        file: File,
        written: u64,
    },
}

/// Per call site: lines in the current window and lines held back.
struct Site {
    window_start: Instant,
    lines: u32,
    held: u64,
    name: String,
}

/// The log writer; see the module doc.
pub struct LogSink {
    target: Mutex<Target>,
    sites: Mutex<HashMap<usize, Site>>,
    max_bytes: AtomicU64,
    keep: AtomicU32,
    json: bool,
    terminal: bool,
}

static SINK: OnceLock<Arc<LogSink>> = OnceLock::new();

impl LogSink {
    /// The process's sink: writes to stderr, or (stderr being a regular file) to that file
    /// with rotation. The first call decides; later calls return the same sink.
    pub fn install(json: bool, max_bytes: u64, keep: u32) -> Arc<LogSink> {
        SINK.get_or_init(|| {
            use std::io::IsTerminal;
            let terminal = io::stderr().is_terminal();
            let target = stderr_file()
                .map(|(path, file, written)| Target::File {
                    path,
                    file,
                    written,
                })
                .unwrap_or(Target::Stderr);
            let sink = Arc::new(LogSink {
                target: Mutex::new(target),
                sites: Mutex::new(HashMap::new()),
                max_bytes: AtomicU64::new(max_bytes.max(1024)),
                keep: AtomicU32::new(keep.max(1)),
                json,
                terminal,
            });
            let flusher = Arc::downgrade(&sink);
            // Reports held-back repeats even when their call site falls silent.
            let _ = std::thread::Builder::new()
                .name("log-repeats".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(WINDOW);
                        match flusher.upgrade() {
                            Some(s) => s.report_repeats(Instant::now()),
                            None => return,
                        }
                    }
                });
            sink
        })
        .clone()
    }

    /// Whether colours suit the target (a terminal).
    pub fn ansi(&self) -> bool {
        self.terminal
            && matches!(
                *self.target.lock().unwrap_or_else(|p| p.into_inner()),
                Target::Stderr
            )
    }

    /// Changes the rotation bounds (live, from `LogMaxSizeMB` / `LogMaxFiles`).
    pub fn set_rotation(max_bytes: u64, keep: u32) {
        if let Some(s) = SINK.get() {
            s.max_bytes.store(max_bytes.max(1024), Ordering::Relaxed);
            s.keep.store(keep.max(1), Ordering::Relaxed);
        }
    }

    /// Whether an event of `meta` may be written now (counts it either way).
    fn admit(&self, meta: &Metadata<'_>, now: Instant) -> bool {
        if *meta.level() > Level::INFO {
            return true; // DEBUG/TRACE: opt-in, not limited
        }
        let key = meta.callsite_id_usize();
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        let site = sites.entry(key).or_insert_with(|| Site {
            window_start: now,
            lines: 0,
            held: 0,
            name: format!(
                "{} {}:{}",
                meta.target(),
                meta.file().unwrap_or("?"),
                meta.line().unwrap_or(0)
            ),
        });
        if now.saturating_duration_since(site.window_start) >= WINDOW {
            if site.held > 0 {
                let line = self.repeat_line(&site.name, site.held, *meta.level());
                site.held = 0;
                drop(sites);
                self.write_line(line.as_bytes());
                sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
            }
            let Some(site) = sites.get_mut(&key) else {
                return true;
            };
            site.window_start = now;
            site.lines = 1;
            return true;
        }
        if site.lines < BURST {
            site.lines += 1;
            true
        } else {
            site.held += 1;
            false
        }
    }

    /// Writes the "(repeated N times ...)" lines of call sites whose window has passed.
    fn report_repeats(&self, now: Instant) {
        let mut lines = Vec::new();
        {
            let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
            for site in sites.values_mut() {
                if site.held > 0 && now.saturating_duration_since(site.window_start) >= WINDOW {
                    lines.push(self.repeat_line(&site.name, site.held, Level::WARN));
                    site.held = 0;
                    site.window_start = now;
                    site.lines = 0;
                }
            }
        }
        for l in lines {
            self.write_line(l.as_bytes());
        }
    }

    fn repeat_line(&self, site: &str, held: u64, level: Level) -> String {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let msg = format!(
            "the previous message of {site} (repeated {held} times in the last {} s) was held back",
            WINDOW.as_secs()
        );
        if self.json {
            serde_json::json!({
                "timestamp": now,
                "level": level.as_str(),
                "fields": { "message": msg },
                "target": "reportd::log",
            })
            .to_string()
                + "\n"
        } else {
            format!("{now} {:>5} reportd::log: {msg}\n", level.as_str())
        }
    }

    /// Writes one complete line, rotating the file first when it would pass the bound.
    fn write_line(&self, line: &[u8]) {
        let mut t = self.target.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *t {
            Target::Stderr => {
                let _ = io::stderr().write_all(line);
            }
            Target::File {
                path,
                file,
                written,
            } => {
                let max = self.max_bytes.load(Ordering::Relaxed);
                if *written > 0 && *written + line.len() as u64 > max {
                    match rotate(path, self.keep.load(Ordering::Relaxed)) {
                        Ok(f) => {
                            *file = f;
                            *written = 0;
                        }
                        // Cannot rotate (disk, permissions): stop writing rather than
                        // grow past the bound; stderr still reaches whoever reads it.
                        Err(e) => {
                            let _ = writeln!(
                                io::stderr(),
                                "reportd: cannot rotate the log {}: {e}",
                                path.display()
                            );
                            return;
                        }
                    }
                }
                if file.write_all(line).is_ok() {
                    *written += line.len() as u64;
                }
            }
        }
    }
}

/// stderr's file when it is a regular file: its path, a handle of our own (append) and its
/// size.
fn stderr_file() -> Option<(PathBuf, File, u64)> {
    let fd = std::fs::metadata("/proc/self/fd/2").ok()?;
    if !fd.is_file() {
        return None;
    }
    let path = std::fs::read_link("/proc/self/fd/2").ok()?;
    let on_disk = std::fs::metadata(&path).ok()?;
    if on_disk.ino() != fd.ino() || on_disk.dev() != fd.dev() {
        return None; // deleted or replaced: leave stderr alone
    }
    let file = OpenOptions::new().append(true).open(&path).ok()?;
    Some((path, file, on_disk.len()))
}

/// `path` → `path.1` → … → `path.keep` (the oldest dropped); returns the new, empty file.
fn rotate(path: &std::path::Path, keep: u32) -> io::Result<File> {
    let numbered = |i: u32| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{i}"));
        PathBuf::from(p)
    };
    for i in (1..keep).rev() {
        let from = numbered(i);
        if from.exists() {
            std::fs::rename(&from, numbered(i + 1))?;
        }
    }
    std::fs::rename(path, numbered(1))?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// The writer of one event: buffered, cut at [`MAX_LINE`], written whole on drop.
pub struct EventWriter {
    sink: Option<Arc<LogSink>>,
    buf: Vec<u8>,
    cut: bool,
}

impl Write for EventWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.sink.is_some() {
            let room = MAX_LINE.saturating_sub(self.buf.len());
            if data.len() > room {
                self.cut = true;
            }
            self.buf.extend_from_slice(&data[..data.len().min(room)]);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let Some(sink) = self.sink.take() else { return };
        if self.buf.is_empty() {
            return;
        }
        if self.cut {
            while self.buf.last() == Some(&b'\n') {
                self.buf.pop();
            }
            self.buf
                .extend_from_slice(format!(" …(cut at {MAX_LINE} bytes)\n").as_bytes());
        }
        sink.write_line(&self.buf);
    }
}

/// The `MakeWriter` handed to `tracing_subscriber::fmt`.
#[derive(Clone)]
pub struct SinkHandle(pub Arc<LogSink>);

impl<'a> MakeWriter<'a> for SinkHandle {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> EventWriter {
        EventWriter {
            sink: Some(self.0.clone()),
            buf: Vec::new(),
            cut: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> EventWriter {
        let admitted = self.0.admit(meta, Instant::now());
        EventWriter {
            sink: admitted.then(|| self.0.clone()),
            buf: Vec::new(),
            cut: false,
        }
    }
}

/// A call site's identity as a map key.
trait CallsiteKey {
    fn callsite_id_usize(&self) -> usize;
}

impl CallsiteKey for Metadata<'_> {
    fn callsite_id_usize(&self) -> usize {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.callsite().hash(&mut h);
        h.finish() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("reportd.log");
        std::fs::write(&p, "0").unwrap();
        for i in 1..=4 {
            let mut f = rotate(&p, 2).unwrap();
            write!(f, "{i}").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "4");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("reportd.log.1")).unwrap(),
            "3"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("reportd.log.2")).unwrap(),
            "2"
        );
        assert!(!dir.path().join("reportd.log.3").exists());
    }
}
