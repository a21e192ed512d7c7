//! The security headers every response of both applications carries — pages, error pages,
//! REST JSON, assets and downloads. (`Strict-Transport-Security` is the listener's: only it
//! knows the binding and its certificate.)
//!
//! The Content-Security-Policy allows nothing but our own stylesheet and images (and
//! `data:` images), scripts only from our own assets, no inline script or style, no frames,
//! forms only to ourselves. The pages are built to need no more (the portal works without
//! JavaScript; its look is `assets/portal.css`). A handler that sets a policy of its own
//! (downloads: `sandbox`; a rendered report: a `style-src` nonce) keeps it.
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

#[cfg(test)]
mod tests {
    use super::*;

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
