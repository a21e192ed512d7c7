//! The connection-limit and log-rotation settings of `reportd.toml`: their defaults, their
//! allowed ranges, and how `reportctl config get|set` reads and writes them.
//!
//! The values are plain numbers here; the listener turns them into its `Limits` and the
//! server's log writer into its rotation bounds. The defaults are no looser than nginx's
//! (TLS handshake and request head 10 s, keep-alive and HTTP/2 idle 60 s).
//!
//! Pure data: no I/O.

use crate::config::Settings;
use crate::{Error, Result};

/// One numeric setting: key, allowed range, default, and its field.
pub struct LimitSetting {
    pub key: &'static str,
    pub min: u32,
    pub max: u32,
    pub default: u32,
    get: fn(&Settings) -> u32,
    set: fn(&mut Settings, u32),
}

macro_rules! limits {
    ($($key:literal, $field:ident, $min:expr, $max:expr, $default:expr, $dfn:ident;)*) => {
        /// Every connection-limit and log setting, in the order `config get` lists them.
        pub const LIMIT_SETTINGS: &[LimitSetting] = &[
            $(LimitSetting {
                key: $key,
                min: $min,
                max: $max,
                default: $default,
                get: |s| s.$field,
                set: |s, v| s.$field = v,
            },)*
        ];
        /// serde defaults of the fields (`#[serde(default = "...")]`).
        pub mod defaults {
            $(pub fn $dfn() -> u32 { $default })*
        }
    };
}

limits! {
    "TlsHandshakeTimeoutSeconds", tls_handshake_timeout_seconds, 1, 60, 10, tls_handshake_timeout_seconds;
    "HeaderTimeoutSeconds", header_timeout_seconds, 1, 60, 10, header_timeout_seconds;
    "KeepAliveTimeoutSeconds", keep_alive_timeout_seconds, 1, 3600, 60, keep_alive_timeout_seconds;
    "Http2IdleTimeoutSeconds", http2_idle_timeout_seconds, 1, 3600, 60, http2_idle_timeout_seconds;
    "BodyReadTimeoutSeconds", body_read_timeout_seconds, 1, 300, 30, body_read_timeout_seconds;
    "MinBodyRateBytesPerSecond", min_body_rate_bytes_per_second, 0, 100_000_000, 1024, min_body_rate_bytes_per_second;
    "SendTimeoutSeconds", send_timeout_seconds, 1, 3600, 60, send_timeout_seconds;
    "MaxConnectionAgeSeconds", max_connection_age_seconds, 10, 604_800, 3600, max_connection_age_seconds;
    "MaxConnections", max_connections, 1, 1_000_000, 10_000, max_connections;
    "MaxConnectionsPerIp", max_connections_per_ip, 1, 1_000_000, 1_000, max_connections_per_ip;
    "Http2MaxConcurrentStreams", http2_max_concurrent_streams, 1, 1000, 100, http2_max_concurrent_streams;
    "Http2StreamBufferKB", http2_stream_buffer_kb, 16, 16_384, 64, http2_stream_buffer_kb;
    "Http2MaxControlFramesPerSecond", http2_max_control_frames_per_second, 10, 100_000, 100, http2_max_control_frames_per_second;
    "LogMaxSizeMB", log_max_size_mb, 1, 4096, 64, log_max_size_mb;
    "LogMaxFiles", log_max_files, 1, 100, 5, log_max_files;
}

fn find(key: &str) -> Option<&'static LimitSetting> {
    LIMIT_SETTINGS.iter().find(|l| l.key == key)
}

/// The value of a limit setting (`key` canonical), or `None` when it is not one.
pub(crate) fn get(s: &Settings, key: &str) -> Option<String> {
    find(key).map(|l| (l.get)(s).to_string())
}

/// Sets a limit setting from text; `None` when `key` is not one.
pub(crate) fn set(s: &mut Settings, key: &str, value: &str) -> Option<Result<()>> {
    let l = find(key)?;
    Some(match value.trim().parse::<u32>() {
        Ok(n) if (l.min..=l.max).contains(&n) => {
            (l.set)(s, n);
            Ok(())
        }
        _ => Err(Error::Setting(format!(
            "{} must be a whole number from {} to {}, not {value:?}",
            l.key, l.min, l.max
        ))),
    })
}

/// Checks every limit of a file read from disk (hand edits); the error names the key.
pub(crate) fn validate(s: &Settings) -> std::result::Result<(), String> {
    for l in LIMIT_SETTINGS {
        let v = (l.get)(s);
        if !(l.min..=l.max).contains(&v) {
            return Err(format!(
                "{} must be a whole number from {} to {}, not {v}",
                l.key, l.min, l.max
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_is_listed_gettable_and_settable_within_its_range() {
        let mut s = Settings::new("x".into());
        for l in LIMIT_SETTINGS {
            assert!(
                crate::config::SETTINGS.iter().any(|i| i.key == l.key),
                "{} missing from SETTINGS",
                l.key
            );
            assert_eq!(s.get(l.key).unwrap(), l.default.to_string(), "{}", l.key);
            assert!(s.set(l.key, &l.max.to_string()).is_ok(), "{}", l.key);
            assert_eq!(s.get(l.key).unwrap(), l.max.to_string());
            let e = s
                .set(l.key, &(u64::from(l.max) + 1).to_string())
                .unwrap_err();
            assert!(e.to_string().contains(l.key), "{e}");
        }
        assert!(validate(&s).is_ok());
        s.max_connections = 0;
        assert!(validate(&s).unwrap_err().contains("MaxConnections"));
    }
}
