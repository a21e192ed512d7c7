//! reportd: the server (`reportd`) and its configuration manager (`reportctl`).
//!
//! Both binaries are thin: `bin/reportd.rs` parses flags and calls [`serve`] (or
//! [`quickstart`]); `bin/reportctl.rs` parses flags and calls [`ctl`]. This crate wires the
//! libraries together; it owns no file format and no policy beyond exit codes and output.

pub mod ctl;
pub mod logfile;
pub mod quickstart;
pub mod renew;
pub mod sampledb;
pub mod serve;

/// An error and its causes on one line, "what failed: why", each cause once: the one
/// line both binaries print on stderr before exiting 1.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}
