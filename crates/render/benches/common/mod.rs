//! What the render benches share: CPU time and memory figures of this process read from
//! `/proc/self` (Linux), for the rows-per-CPU-second and peak-RSS lines they print.

#![allow(dead_code)] // reason: each bench uses its own part of this module

/// User + system CPU seconds of this process (`/proc/self/stat`, 100 ticks a second).
pub fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // fields 14 and 15 of the line; 12 and 13 after the command name
    (t(11) + t(12)) / 100.0
}

/// A `/proc/self/status` figure in kB (0 where there is none).
pub fn rss_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
