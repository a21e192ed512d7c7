//! Client-controlled values made safe for a log line, and repeated warnings counted.
//!
//! [`escape`] wraps a string a client chose (SNI, Host, path, User-Agent, a user name) so
//! that writing it with `{}` can neither forge a log line (control characters and newlines
//! come out as `\n`, `\u{1b}`, …) nor grow the log without bound (at most `max` characters,
//! then `…(N bytes)` naming the full length). [`RateLimited`] lets a warning that a client
//! can trigger at will be written once per window, with the count of the ones it held back.
//!
//! Pure formatting and counting: no I/O, no global state beyond what the caller holds.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The usual bound for client-controlled values in log lines (characters).
pub const DEFAULT_MAX: usize = 128;

/// `value` escaped and truncated to at most `max` characters for a log line; see the module
/// doc. Costs nothing until formatted.
pub fn escape(value: &str, max: usize) -> Escaped<'_> {
    Escaped { value, max }
}

/// Like [`escape`] for raw bytes (a header value that is not UTF-8): invalid UTF-8 shows as
/// `\x..` escapes.
pub fn escape_bytes(value: &[u8], max: usize) -> EscapedBytes<'_> {
    EscapedBytes { value, max }
}

/// A client-controlled string as it may appear in a log line. See [`escape`].
#[derive(Clone, Copy)]
pub struct Escaped<'a> {
    value: &'a str,
    max: usize,
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (shown, c) in self.value.chars().enumerate() {
            if shown >= self.max {
                return write!(f, "…({} bytes)", self.value.len());
            }
            write_char(f, c)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Raw client bytes as they may appear in a log line. See [`escape_bytes`].
#[derive(Clone, Copy)]
pub struct EscapedBytes<'a> {
    value: &'a [u8],
    max: usize,
}

impl fmt::Display for EscapedBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = 0usize;
        for chunk in self.value.utf8_chunks() {
            for c in chunk.valid().chars() {
                if shown >= self.max {
                    return write!(f, "…({} bytes)", self.value.len());
                }
                write_char(f, c)?;
                shown += 1;
            }
            for b in chunk.invalid() {
                if shown >= self.max {
                    return write!(f, "…({} bytes)", self.value.len());
                }
                write!(f, "\\x{b:02x}")?;
                shown += 1;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for EscapedBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// One character, escaped when it could break or disguise a log line: controls (C0, DEL,
/// C1), the backslash itself (so escapes stay unambiguous), line/paragraph separators and
/// bidirectional overrides.
fn write_char(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match c {
        '\n' => f.write_str("\\n"),
        '\r' => f.write_str("\\r"),
        '\t' => f.write_str("\\t"),
        '\\' => f.write_str("\\\\"),
        '"' => f.write_str("\\\""),
        c if c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
        {
            write!(f, "\\u{{{:x}}}", c as u32)
        }
        c => fmt::Write::write_char(f, c),
    }
}

/// A warning that clients can trigger at will, written at most once per window; the next
/// one written after a quiet spell says how many were held back.
///
/// Keyed by nothing but the call site that owns it: keep one per kind of warning (a
/// `static`), never one per client value, so the state stays one counter.
pub struct RateLimited {
    window: Duration,
    state: Mutex<Window>,
}

struct Window {
    /// When the last written line went out; `None` before the first.
    last: Option<Instant>,
    /// Lines held back since `last`.
    held: u64,
}

/// What [`RateLimited::check`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Write the line; `repeated` lines were held back since the last one written.
    Write { repeated: u64 },
    /// Hold it back (counted).
    Hold,
}

impl RateLimited {
    /// At most one line per `window`.
    pub const fn new(window: Duration) -> RateLimited {
        RateLimited {
            window,
            state: Mutex::new(Window {
                last: None,
                held: 0,
            }),
        }
    }

    /// Whether to write a line now.
    pub fn check(&self) -> Verdict {
        self.check_at(Instant::now())
    }

    /// [`RateLimited::check`] at a given instant (for tests).
    pub fn check_at(&self, now: Instant) -> Verdict {
        // A poisoned lock only means another thread panicked while counting: the counter is
        // still a number, keep using it.
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match w.last {
            Some(t) if now.saturating_duration_since(t) < self.window => {
                w.held = w.held.saturating_add(1);
                Verdict::Hold
            }
            _ => {
                let repeated = std::mem::take(&mut w.held);
                w.last = Some(now);
                Verdict::Write { repeated }
            }
        }
    }

    /// The window, for the "(repeated N times in the last …)" suffix.
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// The suffix of a rate-limited line: empty when nothing was held back.
pub fn repeated_suffix(repeated: u64, window: Duration) -> String {
    if repeated == 0 {
        String::new()
    } else {
        format!(
            " (repeated {repeated} times in the last {} s)",
            window.as_secs().max(1)
        )
    }
}

/// Writes a `tracing::warn!` at most once per window of `$limiter` (a [`RateLimited`]),
/// appending "(repeated N times in the last W s)" when lines were held back.
///
/// ```ignore
/// static BAD_SNI: RateLimited = RateLimited::new(Duration::from_secs(10));
/// warn_limited!(BAD_SNI, "no SSL binding for server name {}", escape(sni, 128));
/// ```
#[macro_export]
macro_rules! warn_limited {
    ($limiter:expr, $($arg:tt)+) => {
        if let $crate::logsafe::Verdict::Write { repeated } = $limiter.check() {
            ::tracing::warn!(
                "{}{}",
                format_args!($($arg)+),
                $crate::logsafe::repeated_suffix(repeated, $limiter.window())
            );
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_and_controls_are_escaped() {
        let s = escape("bob\nINFO forged line\r\u{1b}[31m\u{202e}", 128).to_string();
        assert_eq!(s, "bob\\nINFO forged line\\r\\u{1b}[31m\\u{202e}");
        assert!(!s.contains('\n'));
    }

    #[test]
    fn long_values_are_truncated_with_their_length() {
        let long = "a".repeat(15_000);
        let s = escape(&long, 128).to_string();
        assert_eq!(s, format!("{}…(15000 bytes)", "a".repeat(128)));
        assert_eq!(escape("short", 128).to_string(), "short");
        assert_eq!(escape(&"é".repeat(3), 2).to_string(), "éé…(6 bytes)");
    }

    #[test]
    fn bytes_show_invalid_utf8_as_hex() {
        assert_eq!(escape_bytes(b"ok\xff\n", 128).to_string(), "ok\\xff\\n");
        assert_eq!(
            escape_bytes(&[b'x'; 300], 4).to_string(),
            "xxxx…(300 bytes)"
        );
    }

    #[test]
    fn rate_limit_counts_what_it_holds_back() {
        let r = RateLimited::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(r.check_at(t0), Verdict::Write { repeated: 0 });
        for i in 1..=4123 {
            assert_eq!(r.check_at(t0 + Duration::from_millis(i)), Verdict::Hold);
        }
        assert_eq!(
            r.check_at(t0 + Duration::from_secs(11)),
            Verdict::Write { repeated: 4123 }
        );
        assert_eq!(
            repeated_suffix(4123, r.window()),
            " (repeated 4123 times in the last 10 s)"
        );
        assert_eq!(repeated_suffix(0, r.window()), "");
    }
}
