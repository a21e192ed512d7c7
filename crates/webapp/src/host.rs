//! The authority a request names (the `Host` header, or HTTP/2's `:authority`), validated
//! before anything uses it.
//!
//! The listener routes by URL reservation; a wildcard reservation (`https://+:443`) accepts
//! any Host. What the client sent must still never reach a `Location`, a link, a cache key
//! or a log unchecked: [`guard`] admits only `host[:port]` where host is a DNS name, an
//! IPv4 address or a bracketed IPv6 address, and the port is a number up to 65535; anything
//! else (`evil.example/path?`, `a b`, `x@y`) is a 400 before authentication. The validated
//! [`Authority`] is left in the request extensions for absolute URLs (`System`), origin
//! checks and the page heading.
//!
//! Over HTTP/2 there is no Host header: the authority comes from the request URI (as it
//! does for an HTTP/1.1 request in absolute form, which wins over Host as RFC 9112 says).
//!
//! Pure parsing plus one middleware; no I/O.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header;
use httpsys::RequestContext;

use crate::Error;

/// Longest authority accepted (a DNS name is at most 253 characters, plus `:65535`).
const MAX_AUTHORITY: usize = 260;

/// A validated `host[:port]`, lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Authority {
    /// `host[:port]` as sent (lowercased): what absolute URLs are built from.
    pub text: String,
    /// The host part (`[::1]` keeps its brackets).
    pub host_len: usize,
    /// The port, when the client named one.
    pub port: Option<u16>,
}

impl Authority {
    /// The host without the port (`[::1]` keeps its brackets).
    pub fn host(&self) -> &str {
        &self.text[..self.host_len]
    }
}

/// Parses and validates `host[:port]`; None for anything else.
pub(crate) fn parse(raw: &str) -> Option<Authority> {
    if raw.is_empty() || raw.len() > MAX_AUTHORITY {
        return None;
    }
    let text = raw.to_ascii_lowercase();
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        inner.parse::<std::net::Ipv6Addr>().ok()?;
        (&text[..inner.len() + 2], after)
    } else {
        match text.find(':') {
            Some(i) => (&text[..i], &text[i..]),
            None => (text.as_str(), ""),
        }
    };
    let port = match port {
        "" => None,
        p => {
            let digits = p.strip_prefix(':')?;
            if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            Some(digits.parse::<u16>().ok()?)
        }
    };
    if !host.starts_with('[') && !valid_name(host) {
        return None;
    }
    Some(Authority {
        host_len: host.len(),
        text,
        port,
    })
}

/// A DNS name or IPv4 address: dot-separated labels of letters, digits, `-` and `_`
/// (1 to 63 characters, no leading or trailing `-`), at most 253 characters, an optional
/// final dot.
fn valid_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The raw authority of a request: the URI's (HTTP/2 `:authority`, absolute form), else
/// the Host header. None when there is neither, or Host is not text.
fn raw_authority(req: &Request) -> Option<&str> {
    if let Some(a) = req.uri().authority() {
        return Some(a.as_str());
    }
    req.headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{0}"))
}

/// Middleware: refuses a request whose authority is not a valid `host[:port]` (400) and
/// leaves the [`Authority`] in its extensions. A request without any (only possible
/// in-process, for tests and tools) takes the context's host.
pub(crate) async fn guard(mut req: Request, next: Next) -> Response {
    let ctx_host = req
        .extensions()
        .get::<RequestContext>()
        .map(|c| c.host.clone());
    let authority = match raw_authority(&req) {
        Some(raw) => parse(raw),
        None => ctx_host.as_deref().and_then(parse),
    };
    let Some(authority) = authority else {
        return Error::BadRequest(
            "the request's Host header (or HTTP/2 :authority) is not a valid host[:port]; use the server's name or address, for example reports.example.com:8443".into(),
        )
        .into_response();
    };
    // The context's host comes from the same header; a listener that normalized it
    // differently (brackets, case) still names a valid host, and nothing else is admitted.
    if let Some(h) = &ctx_host
        && parse(h).is_none()
        && parse(&format!("[{h}]")).is_none()
    {
        return Error::BadRequest(
            "the request's host name is not valid; use the server's name or address".into(),
        )
        .into_response();
    }
    req.extensions_mut().insert(authority);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_authorities() {
        let a = parse("Reports.Example.com:8443").unwrap();
        assert_eq!(a.text, "reports.example.com:8443");
        assert_eq!(a.host(), "reports.example.com");
        assert_eq!(a.port, Some(8443));
        let a = parse("[::1]:8080").unwrap();
        assert_eq!(a.host(), "[::1]");
        assert_eq!(a.port, Some(8080));
        assert_eq!(parse("127.0.0.1").unwrap().port, None);
        assert_eq!(parse("localhost").unwrap().host(), "localhost");
        assert_eq!(parse("my_host.local.").unwrap().host(), "my_host.local.");
    }

    #[test]
    fn hostile_authorities_are_refused() {
        for bad in [
            "evil.example/path?",
            "evil.example/path?:443",
            "a b",
            "x@y",
            "host:",
            "host:99999",
            "host:80:80",
            "host:8a",
            "",
            "[::1",
            "[zz::1]:80",
            "-lead.example",
            "a..b",
            "ex\u{0}ample",
            "exämple.com",
            "host\r\nx: y",
            "%2e%2e",
            "\"quoted\"",
        ] {
            assert!(parse(bad).is_none(), "{bad:?} should be refused");
        }
        assert!(parse(&"a".repeat(300)).is_none());
        assert!(parse(&format!("{}.com", "a".repeat(64))).is_none());
    }
}
