//! The security headers every response of both applications carries — pages, error pages,
//! REST JSON, assets and downloads — and the HSTS decision.
//!
//! The Content-Security-Policy allows nothing but our own stylesheet and images (and
//! `data:` images): no script at all, no inline style, no frames, forms only to ourselves.
//! The pages are built to need no more (the portal works without JavaScript; its look is
//! `assets/portal.css`). A handler that sets a stricter policy of its own (downloads:
//! `sandbox`) keeps it.
//!
//! Pure: header values in, no I/O.

use http::{HeaderMap, HeaderValue, header};

/// The policy of every page and response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to a response's headers (keeping a Content-Security-Policy
/// the handler chose).
pub(crate) fn secure(h: &mut HeaderMap) {
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
}

/// `Strict-Transport-Security` for a response sent over TLS to `host`, when it should carry
/// one: on by default for an https reservation with a real host name, off for `localhost`
/// (and `*.localhost`), IP literals, and connections whose certificate is self-signed (a
/// browser pinned to https could then never click through the warning again).
///
/// Only the listener knows the certificate a connection was served with, so it is the one
/// to call this (with the bound certificate's self-signed flag) for TLS responses.
pub fn hsts_value(host: &str, self_signed: bool) -> Option<HeaderValue> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let is_ip = bare.parse::<std::net::IpAddr>().is_ok();
    let is_local = host == "localhost" || host.ends_with(".localhost");
    let is_name = !host.is_empty() && host.contains('.');
    if self_signed || is_ip || is_local || !is_name {
        return None;
    }
    Some(HeaderValue::from_static("max-age=31536000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_only_for_real_names_with_real_certificates() {
        assert!(hsts_value("reports.example.com", false).is_some());
        assert!(hsts_value("reports.example.com", true).is_none());
        for h in [
            "localhost",
            "app.localhost",
            "127.0.0.1",
            "[::1]",
            "::1",
            "intranet",
        ] {
            assert!(hsts_value(h, false).is_none(), "{h}");
        }
    }

    #[test]
    fn handler_policy_is_kept() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        );
        secure(&mut h);
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], "sandbox");
        let mut h = HeaderMap::new();
        secure(&mut h);
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(h[header::REFERRER_POLICY], "same-origin");
    }
}
