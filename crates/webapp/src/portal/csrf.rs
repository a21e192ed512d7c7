//! CSRF protection of the portal's forms.
//!
//! Two independent checks on every POST:
//! - the **token**: HMAC-SHA256(CSRF key, user name ‖ time window) in hex, in a hidden
//!   field of each form, compared in constant time. It is bound to the signed-in user (the
//!   token of one user is refused for another) and rotates every [`WINDOW`]; the current
//!   and the previous window's tokens are accepted, so a page stays usable for at least one
//!   window and at most two. A page of another site cannot read it (it cannot read our
//!   pages), so it cannot forge a form that carries it. Browsers resend Basic credentials
//!   on cross-site requests, which is why the token is needed at all.
//! - the **origin**: when the browser says where the request comes from
//!   (`Sec-Fetch-Site`, `Origin`), it must be this same origin (the validated authority).
//!
//! The CSRF key derives (HKDF, label `reportd csrf`) from the encryption key: a cluster's
//! key once the node is joined, so that a form served by one node is accepted by another
//! (the SSRS MachineKey lesson), else the instance key.
//!
//! Pure functions over headers, the clock and the CSRF key; no I/O.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::{HeaderMap, header};
use httpsys::RequestContext;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::credentials::Principal;
use crate::host::Authority;
use crate::{AppState, Error};

/// Name of the hidden form field holding the token.
pub(crate) const FIELD: &str = "csrf";

/// How long one token is issued; it is accepted for one more window after that.
pub(crate) const WINDOW: Duration = Duration::from_secs(4 * 3600);

/// The window `now` falls in.
fn window_of(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / WINDOW.as_secs())
}

/// The token of `user` for the current window.
pub(crate) fn token(state: &AppState, user: &Principal) -> String {
    hex::encode(mac(
        &state.key().csrf,
        &user.name.to_lowercase(),
        window_of(SystemTime::now()),
    ))
}

fn mac(key: &[u8; 32], user_lower: &str, window: u64) -> [u8; 32] {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length");
    m.update(b"reportd csrf v2\0");
    m.update(user_lower.as_bytes());
    m.update(b"\0");
    m.update(&window.to_be_bytes());
    m.finalize().into_bytes().into()
}

/// Whether `sent` is `user`'s token for the window of `now` or the one before.
fn token_valid(key: &[u8; 32], user_lower: &str, sent: &str, now: SystemTime) -> bool {
    let w = window_of(now);
    let Ok(sent) = hex::decode(sent) else {
        return false;
    };
    [w, w.saturating_sub(1)].into_iter().fold(false, |ok, w| {
        ok | bool::from(sent.as_slice().ct_eq(&mac(key, user_lower, w)))
    })
}

/// Refuses a form whose token is missing, is not `user`'s, or has expired.
pub(crate) fn check_token(
    state: &AppState,
    user: &Principal,
    sent: Option<&str>,
) -> Result<(), Error> {
    let sent = sent.unwrap_or("");
    if token_valid(
        &state.key().csrf,
        &user.name.to_lowercase(),
        sent,
        SystemTime::now(),
    ) {
        Ok(())
    } else {
        tracing::warn!(user = %user.name.escape_debug(), "form refused: missing, wrong or expired CSRF token");
        Err(Error::CrossSite)
    }
}

/// Refuses a request that the browser marks as coming from another site: `Sec-Fetch-Site`
/// other than `same-origin`/`none`, or an `Origin` that is not this scheme and the
/// request's validated `authority` (without one, the Host header).
pub(crate) fn check_origin(
    headers: &HeaderMap,
    ctx: &RequestContext,
    authority: Option<&Authority>,
) -> Result<(), Error> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
            tracing::warn!(site = %site.escape_debug(), "form refused: cross-site request");
            return Err(Error::CrossSite);
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let authority = authority
            .map(|a| a.text.as_str())
            .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()));
        if !same_origin(origin, ctx, authority) {
            tracing::warn!(origin = %origin.escape_debug(), "form refused: Origin is another site");
            return Err(Error::CrossSite);
        }
    }
    Ok(())
}

/// `origin` (`scheme://host[:port]`) against the request: same scheme, and the same
/// authority as the request's (or, without one, the same host).
fn same_origin(origin: &str, ctx: &RequestContext, authority: Option<&str>) -> bool {
    let scheme = if ctx.secure { "https://" } else { "http://" };
    let Some(origin_authority) = origin.strip_prefix(scheme) else {
        return false;
    };
    match authority {
        Some(h) => origin_authority.eq_ignore_ascii_case(h),
        None => {
            let host = origin_authority
                .rsplit_once(':')
                .map_or(origin_authority, |(h, p)| {
                    if p.bytes().all(|b| b.is_ascii_digit()) {
                        h
                    } else {
                        origin_authority
                    }
                });
            host.eq_ignore_ascii_case(&ctx.host)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn ctx(secure: bool) -> RequestContext {
        RequestContext {
            app: httpsys::Application::Portal,
            vdir: "Reports".into(),
            secure,
            host: "example.com".into(),
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            local: SocketAddr::from(([127, 0, 0, 1], 2)),
            https_base: None,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origin_checks() {
        let c = ctx(false);
        assert!(check_origin(&headers(&[]), &c, None).is_ok());
        assert!(check_origin(&headers(&[("sec-fetch-site", "same-origin")]), &c, None).is_ok());
        assert!(check_origin(&headers(&[("sec-fetch-site", "cross-site")]), &c, None).is_err());
        assert!(check_origin(&headers(&[("sec-fetch-site", "same-site")]), &c, None).is_err());
        let ok = [
            ("origin", "http://example.com:8080"),
            ("host", "example.com:8080"),
        ];
        assert!(check_origin(&headers(&ok), &c, None).is_ok());
        let other = [("origin", "http://evil.test"), ("host", "example.com:8080")];
        assert!(check_origin(&headers(&other), &c, None).is_err());
        let port = [
            ("origin", "http://example.com:9"),
            ("host", "example.com:8080"),
        ];
        assert!(check_origin(&headers(&port), &c, None).is_err());
        assert!(check_origin(&headers(&[("origin", "null")]), &c, None).is_err());
        assert!(check_origin(&headers(&[("origin", "http://example.com")]), &c, None).is_ok());
        assert!(
            check_origin(
                &headers(&[("origin", "http://example.com")]),
                &ctx(true),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn tokens_are_per_user_keyed_and_rotated() {
        let a = mac(&[1; 32], "alice", 7);
        assert_ne!(a, mac(&[1; 32], "bob", 7));
        assert_ne!(a, mac(&[2; 32], "alice", 7));
        assert_ne!(a, mac(&[1; 32], "alice", 8));

        let key = [3; 32];
        let t0 = UNIX_EPOCH + WINDOW * 1000;
        let tok = hex::encode(mac(&key, "alice", window_of(t0)));
        assert!(token_valid(&key, "alice", &tok, t0));
        assert!(!token_valid(&key, "bob", &tok, t0), "bound to the user");
        assert!(
            token_valid(&key, "alice", &tok, t0 + WINDOW),
            "previous window"
        );
        assert!(
            !token_valid(&key, "alice", &tok, t0 + WINDOW * 2),
            "expired"
        );
        assert!(!token_valid(&key, "alice", "", t0));
        assert!(!token_valid(&key, "alice", "zz", t0));
        assert!(!token_valid(&key, "alice", &tok[..10], t0));
    }
}
