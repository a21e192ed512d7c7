//! `Session` POST/DELETE: sign-in for clients that cannot send Basic credentials (SSRS's
//! forms sign-in), and the table of the sessions it opens.
//!
//! `POST api/v2.0/Session {"UserName": ..., "Password": ...}` (JSON, or a form with the same
//! field names) verifies the password exactly as a Basic sign-in does (the throttle, the
//! per-name gate and the KDF workers of [`crate::signin`], through [`crate::auth`]) and
//! answers 201 with the session cookie [`COOKIE`]: a random 256-bit token, `HttpOnly`,
//! `SameSite=Strict`, `Secure` over https, `Path` of the portal. The gate
//! ([`crate::auth`]) accepts the cookie on the portal in place of Basic credentials; a
//! cookie-authenticated write must carry the XSRF token ([`super`]). `DELETE Session` ends
//! the session and clears the cookie.
//!
//! The table keeps a SHA-256 of each token (never the token), the user, and a digest of the
//! user's password hash at sign-in: a session ends after [`IDLE`] without use, [`MAX_AGE`]
//! after sign-in, when the user is removed, or when their password changes. At most
//! [`MAX_SESSIONS`] are kept; past that the least recently used one ends.
//!
//! Must not log a token or a password, nor store either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::credentials::Principal;
use crate::{AppState, Error};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "reportd-session";
/// A session ends after this long without a request.
pub(crate) const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, however busy.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(8 * 3600);
/// Most sessions kept at once.
pub(crate) const MAX_SESSIONS: usize = 10_000;
/// Largest sign-in body read, in bytes.
const MAX_BODY: usize = 8 * 1024;

/// Marks a request the gate authenticated with the session cookie (its writes must carry
/// the XSRF token).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ViaCookie;

struct Entry {
    principal: Arc<Principal>,
    /// The catalog generation `principal` was read at.
    generation: i64,
    /// SHA-256 of the user's password hash at sign-in.
    hash_digest: [u8; 32],
    created: Instant,
    used: Instant,
}

/// The open sessions (see the module documentation).
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Entry>>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// SHA-256 of a password hash, to notice a password change.
pub(crate) fn hash_digest(password_hash: &str) -> [u8; 32] {
    Sha256::digest(password_hash.as_bytes()).into()
}

impl Sessions {
    /// Opens a session and returns its token.
    pub(crate) fn open(
        &self,
        principal: Arc<Principal>,
        generation: i64,
        hash_digest: [u8; 32],
    ) -> String {
        let mut raw = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut raw[..]);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[..]);
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, e| live(e, now));
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            digest(&token),
            Entry {
                principal,
                generation,
                hash_digest,
                created: now,
                used: now,
            },
        );
        token
    }

    /// The user of a live session, the generation it was read at and the digest of the
    /// password hash; marks the session used.
    pub(crate) fn get(&self, token: &str) -> Option<(Arc<Principal>, i64, [u8; 32])> {
        let now = Instant::now();
        let key = digest(token);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let e = map.get_mut(&key)?;
        if !live(e, now) {
            map.remove(&key);
            return None;
        }
        e.used = now;
        Some((e.principal.clone(), e.generation, e.hash_digest))
    }

    /// Replaces the user of a session after the catalog changed.
    pub(crate) fn refresh(&self, token: &str, principal: Arc<Principal>, generation: i64) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.get_mut(&digest(token)) {
            e.principal = principal;
            e.generation = generation;
        }
    }

    /// Ends a session (nothing when there is none).
    pub(crate) fn close(&self, token: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&digest(token));
    }

    /// How many sessions are open (expired ones not yet dropped included).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

fn live(e: &Entry, now: Instant) -> bool {
    now.duration_since(e.used) < IDLE && now.duration_since(e.created) < MAX_AGE
}

/// The session token the request's `Cookie` header carries, if any.
pub(crate) fn token_of(headers: &HeaderMap) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(text) = v.to_str() else { continue };
        for part in text.split(';') {
            if let Some((k, val)) = part.trim().split_once('=')
                && k.trim() == COOKIE
            {
                let val = val.trim();
                // 32 bytes in unpadded base64url; anything else is no session of ours.
                if val.len() == 43
                    && val
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Some(val.to_owned());
                }
            }
        }
    }
    None
}

/// Whether the request is `POST api/v2.0/Session` (or v1.0), which the gate lets through
/// without credentials: its body carries them. `path` is vdir-stripped.
pub(crate) fn is_sign_in(method: &Method, path: &str) -> bool {
    if method != Method::POST {
        return false;
    }
    let mut parts = path.trim_start_matches('/').split('/');
    let api = parts.next().is_some_and(|p| p.eq_ignore_ascii_case("api"));
    let version = parts
        .next()
        .is_some_and(|v| v.eq_ignore_ascii_case("v2.0") || v.eq_ignore_ascii_case("v1.0"));
    let set = parts
        .next()
        .is_some_and(|s| s.eq_ignore_ascii_case("Session"));
    api && version && set && parts.next().is_none()
}

fn cookie_header(
    ctx: &httpsys::RequestContext,
    value: &str,
    max_age: Option<u64>,
) -> Option<HeaderValue> {
    let secure = if ctx.secure { "; Secure" } else { "" };
    let age = match max_age {
        Some(s) => format!("; Max-Age={s}"),
        None => String::new(),
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/{}; HttpOnly; SameSite=Strict{secure}{age}",
        ctx.vdir
    ))
    .ok()
}

/// The user name and password of a sign-in body (JSON or a form).
fn credentials_of(content_type: &str, body: &[u8]) -> Result<(String, Zeroizing<String>), Error> {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let missing = || {
        Error::BadRequest(
            "UserName and Password are required: send {\"UserName\": \"...\", \"Password\": \"...\"} as application/json, or a form with those fields".into(),
        )
    };
    let (mut user, mut password) = (None, None);
    if mime.eq_ignore_ascii_case("application/json") {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| Error::BadRequest(format!("the request body is not valid JSON: {e}")))?;
        let Value::Object(m) = v else {
            return Err(Error::BadRequest(
                "the request body must be a JSON object".into(),
            ));
        };
        for (k, v) in m {
            let slot = if k.eq_ignore_ascii_case("UserName") {
                &mut user
            } else if k.eq_ignore_ascii_case("Password") {
                &mut password
            } else {
                continue;
            };
            match v {
                Value::String(s) => *slot = Some(s),
                Value::Null => {}
                other => {
                    return Err(Error::BadRequest(format!(
                        "{k} must be a string, not {}",
                        if other.is_number() {
                            "a number"
                        } else {
                            "this value"
                        }
                    )));
                }
            }
        }
    } else if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        for (k, v) in form_urlencoded::parse(body) {
            if k.eq_ignore_ascii_case("UserName") {
                user = Some(v.into_owned());
            } else if k.eq_ignore_ascii_case("Password") {
                password = Some(v.into_owned());
            }
        }
    } else {
        return Err(Error::BadRequest(format!(
            "the request body must be application/json or application/x-www-form-urlencoded (Content-Type was '{content_type}')"
        )));
    }
    let user = user
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .ok_or_else(missing)?;
    let password = Zeroizing::new(password.ok_or_else(missing)?);
    Ok((user, password))
}

/// `POST Session`: see the module documentation.
pub(super) async fn sign_in(
    state: &AppState,
    ctx: &httpsys::RequestContext,
    authority: Option<&crate::host::Authority>,
    req: Request,
) -> Result<Response, Error> {
    // A browser's sign-in must come from this site (no signing a victim into another
    // account from a foreign page).
    crate::portal::csrf::check_origin(req.headers(), ctx, authority).map_err(|_| {
        Error::Forbidden("a sign-in from a browser must come from this site's own pages".into())
    })?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut body = req.into_body();
    let mut buf = Zeroizing::new(Vec::new());
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| Error::BadRequest(format!("the request body could not be read: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > MAX_BODY {
                return Err(Error::BadRequest(format!(
                    "a sign-in body is at most {MAX_BODY} bytes"
                )));
            }
            buf.extend_from_slice(&data);
        }
    }
    let (user, password) = credentials_of(&ct, &buf)?;
    let catalog = state.catalog().await?;
    let generation = state.generation(&catalog).await?;
    let principal =
        crate::auth::authenticate(state, &catalog, &user, &password, generation, ctx.peer).await?;
    let hash = catalog
        .get_user(&principal.name)
        .await?
        .map(|u| hash_digest(&u.password_hash))
        .ok_or(Error::Unauthorized)?;
    let shown =
        httpsys::logsafe::escape(&principal.name, httpsys::logsafe::DEFAULT_MAX).to_string();
    let token = state.sessions().open(principal, generation, hash);
    tracing::info!(user = %shown, peer = %ctx.peer, "signed in (REST Session)");
    let mut resp = StatusCode::CREATED.into_response();
    if let Some(v) = cookie_header(ctx, &token, None) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `DELETE Session`: ends the session the cookie names and clears the cookie.
pub(super) fn sign_out(
    state: &AppState,
    session: &crate::auth::Session,
    ctx: &httpsys::RequestContext,
    headers: &HeaderMap,
) -> Response {
    if let Some(token) = token_of(headers) {
        state.sessions().close(&token);
    }
    let shown = httpsys::logsafe::escape(&session.principal.name, httpsys::logsafe::DEFAULT_MAX);
    tracing::info!(user = %shown, "signed out (REST Session)");
    // No body (SSRS: "an empty session cookie is sent"), typed as the API's responses are.
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(v) = cookie_header(ctx, "", Some(0)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Arc<Principal> {
        Arc::new(Principal {
            name: "alice".into(),
            system_roles: Vec::new(),
        })
    }

    #[test]
    fn sessions_open_find_and_close() {
        let s = Sessions::default();
        let t = s.open(alice(), 3, [1; 32]);
        assert_eq!(t.len(), 43);
        let (p, g, h) = s.get(&t).unwrap();
        assert_eq!((p.name.as_str(), g, h), ("alice", 3, [1; 32]));
        assert!(s.get("x").is_none());
        s.close(&t);
        assert!(s.get(&t).is_none());
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let s = Sessions::default();
        let first = s.open(alice(), 0, [0; 32]);
        for _ in 0..MAX_SESSIONS {
            s.open(alice(), 0, [0; 32]);
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        assert!(s.get(&first).is_none(), "the least recently used one ended");
    }

    #[test]
    fn cookies_and_sign_in_paths_are_recognized() {
        let mut h = HeaderMap::new();
        let tok = "A".repeat(43);
        h.insert(
            header::COOKIE,
            format!("XSRF-TOKEN=x; {COOKIE}={tok}").parse().unwrap(),
        );
        assert_eq!(token_of(&h).as_deref(), Some(tok.as_str()));
        h.insert(header::COOKIE, format!("{COOKIE}=short").parse().unwrap());
        assert!(token_of(&h).is_none());
        assert!(is_sign_in(&Method::POST, "/api/v2.0/Session"));
        assert!(is_sign_in(&Method::POST, "/API/v1.0/session"));
        assert!(!is_sign_in(&Method::GET, "/api/v2.0/Session"));
        assert!(!is_sign_in(&Method::POST, "/api/v2.0/Session/x"));
        assert!(!is_sign_in(&Method::POST, "/api/v2.0/CatalogItems"));
    }

    #[test]
    fn sign_in_bodies_parse() {
        let (u, p) = credentials_of(
            "application/json",
            br#"{"UserName": " pat ", "Password": "pw", "Domain": ""}"#,
        )
        .unwrap();
        assert_eq!((u.as_str(), p.as_str()), ("pat", "pw"));
        let (u, p) = credentials_of(
            "application/x-www-form-urlencoded; charset=utf-8",
            b"username=pat&password=p%26w",
        )
        .unwrap();
        assert_eq!((u.as_str(), p.as_str()), ("pat", "p&w"));
        assert!(credentials_of("application/json", b"{\"UserName\": \"pat\"}").is_err());
        assert!(credentials_of("application/json", b"{nope").is_err());
        assert!(credentials_of("text/plain", b"x").is_err());
        assert!(
            credentials_of(
                "application/json",
                b"{\"UserName\": 1, \"Password\": \"p\"}"
            )
            .is_err()
        );
    }
}
