//! CSRF protection of the portal's forms.
//!
//! Two independent checks on every POST:
//! - the **token**: HMAC-SHA256(instance key, user name) in hex, in a hidden field of each
//!   form, compared in constant time. A page of another site cannot read it (it cannot read
//!   our pages), so it cannot forge a form that carries it. Browsers resend Basic
//!   credentials on cross-site requests, which is why the token is needed at all.
//! - the **origin**: when the browser says where the request comes from
//!   (`Sec-Fetch-Site`, `Origin`), it must be this same origin.
//!
//! Pure functions over headers and the instance key; no I/O.

use hmac::{Hmac, Mac};
use http::{HeaderMap, header};
use httpsys::RequestContext;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::credentials::Principal;
use crate::{AppState, Error};

/// Name of the hidden form field holding the token.
pub(crate) const FIELD: &str = "csrf";

/// The token of `user`: stable for the life of the instance key, different per user.
pub(crate) fn token(state: &AppState, user: &Principal) -> String {
    hex::encode(mac(state.key(), &user.name.to_lowercase()))
}

fn mac(key: &[u8; 32], user_lower: &str) -> [u8; 32] {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length");
    m.update(b"reportd csrf v1\0");
    m.update(user_lower.as_bytes());
    m.finalize().into_bytes().into()
}

/// Refuses a form whose token is missing or is not `user`'s.
pub(crate) fn check_token(
    state: &AppState,
    user: &Principal,
    sent: Option<&str>,
) -> Result<(), Error> {
    let expected = token(state, user);
    let sent = sent.unwrap_or("");
    if sent.len() == expected.len() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        tracing::warn!(user = %user.name, "form refused: missing or wrong CSRF token");
        Err(Error::CrossSite)
    }
}

/// Refuses a request that the browser marks as coming from another site: `Sec-Fetch-Site`
/// other than `same-origin`/`none`, or an `Origin` that is not this scheme and host.
pub(crate) fn check_origin(headers: &HeaderMap, ctx: &RequestContext) -> Result<(), Error> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
            tracing::warn!(%site, "form refused: cross-site request");
            return Err(Error::CrossSite);
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let host_header = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if !same_origin(origin, ctx, host_header) {
            tracing::warn!(%origin, "form refused: Origin is another site");
            return Err(Error::CrossSite);
        }
    }
    Ok(())
}

/// `origin` (`scheme://host[:port]`) against the request: same scheme, and the same
/// authority as the Host header (or, without one, the same host).
fn same_origin(origin: &str, ctx: &RequestContext, host_header: Option<&str>) -> bool {
    let scheme = if ctx.secure { "https://" } else { "http://" };
    let Some(authority) = origin.strip_prefix(scheme) else {
        return false;
    };
    match host_header {
        Some(h) => authority.eq_ignore_ascii_case(h),
        None => {
            let host = authority.rsplit_once(':').map_or(authority, |(h, p)| {
                if p.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    authority
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
        assert!(check_origin(&headers(&[]), &c).is_ok());
        assert!(check_origin(&headers(&[("sec-fetch-site", "same-origin")]), &c).is_ok());
        assert!(check_origin(&headers(&[("sec-fetch-site", "cross-site")]), &c).is_err());
        assert!(check_origin(&headers(&[("sec-fetch-site", "same-site")]), &c).is_err());
        let ok = [
            ("origin", "http://example.com:8080"),
            ("host", "example.com:8080"),
        ];
        assert!(check_origin(&headers(&ok), &c).is_ok());
        let other = [("origin", "http://evil.test"), ("host", "example.com:8080")];
        assert!(check_origin(&headers(&other), &c).is_err());
        let port = [
            ("origin", "http://example.com:9"),
            ("host", "example.com:8080"),
        ];
        assert!(check_origin(&headers(&port), &c).is_err());
        assert!(check_origin(&headers(&[("origin", "null")]), &c).is_err());
        assert!(check_origin(&headers(&[("origin", "http://example.com")]), &c).is_ok());
        assert!(check_origin(&headers(&[("origin", "http://example.com")]), &ctx(true)).is_err());
    }

    #[test]
    fn tokens_are_per_user_and_keyed() {
        let a = mac(&[1; 32], "alice");
        assert_ne!(a, mac(&[1; 32], "bob"));
        assert_ne!(a, mac(&[2; 32], "alice"));
    }
}
