//! `Session` POST/DELETE: sign-in for clients that cannot send Basic credentials (SSRS's
//! forms sign-in), and the table of the sessions it opens.
//!
//! `POST api/v2.0/Session {"UserName": ..., "Password": ...}` (JSON, or a form with the same
//! field names) verifies the password exactly as a Basic sign-in does (the throttle, the
//! per-name gate and the KDF workers of [`crate::signin`], through [`crate::auth`]) and
//! answers 201 with the session cookie [`COOKIE`]: a signed token, `HttpOnly`,
//! `SameSite=Strict`, `Secure` over https, `Path` of the portal. The token is
//! `base64url(issued ‖ random(16) ‖ user name ‖ password digest ‖ HMAC)`, the HMAC and the
//! password digest keyed by the session key, which derives from the encryption key (the
//! cluster key in a cluster): any node of a cluster accepts a cookie another node issued. The gate
//! ([`crate::auth`]) accepts the cookie on the portal in place of Basic credentials; a
//! cookie-authenticated write must carry the XSRF token ([`super`]). `DELETE Session` ends
//! the session and clears the cookie.
//!
//! Each node's table keeps a SHA-256 of each token it has seen (never the token), the user,
//! and the keyed digest of the user's password hash at sign-in: a session ends after
//! [`IDLE`] without use on that node, [`MAX_AGE`] after sign-in, when the user is removed,
//! or when their password changes. At most [`MAX_SESSIONS`] are kept; past that the least
//! recently used one ends. `DELETE Session` ends it on the node that served it (the others
//! still accept the cookie until [`MAX_AGE`] — the browser has dropped it).
//!
//! Must not log a token or a password, nor store either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
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
    /// Tokens ended here (`DELETE Session`) and until when they would have been valid, so
    /// that their signature does not open them again.
    closed: Mutex<HashMap<[u8; 32], std::time::SystemTime>>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hmac(key: &[u8; 32], label: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length");
    m.update(label);
    m.update(data);
    m.finalize().into_bytes().into()
}

/// The keyed digest of a password hash (under the session key), to notice a password
/// change; it travels in the cookie, so it is keyed.
pub(crate) fn hash_digest(key: &[u8; 32], password_hash: &str) -> [u8; 32] {
    hmac(key, b"reportd session password\0", password_hash.as_bytes())
}

/// Longest user name a token carries (longer names get no cookie session).
const MAX_NAME: usize = 512;
/// Bytes of a token around the name: issued (8), random (16), name length (2), password
/// digest (32), HMAC (32).
const TOKEN_FIXED: usize = 8 + 16 + 2 + 32 + 32;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Builds a signed token.
fn sign(key: &[u8; 32], name: &str, issued: u64, hash_digest: &[u8; 32]) -> Option<String> {
    let name = name.as_bytes();
    if name.len() > MAX_NAME {
        return None;
    }
    let mut raw = Zeroizing::new(Vec::with_capacity(TOKEN_FIXED + name.len()));
    raw.extend_from_slice(&issued.to_be_bytes());
    let mut nonce = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    raw.extend_from_slice(&nonce);
    raw.extend_from_slice(&(name.len() as u16).to_be_bytes());
    raw.extend_from_slice(name);
    raw.extend_from_slice(hash_digest);
    let tag = hmac(key, b"reportd session cookie\0", &raw);
    raw.extend_from_slice(&tag);
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[..]))
}

/// The (user name, issued, password digest) of a token whose signature verifies.
fn verify(key: &[u8; 32], token: &str) -> Option<(String, u64, [u8; 32])> {
    let raw = Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()?,
    );
    if raw.len() < TOKEN_FIXED {
        return None;
    }
    let (body, tag) = raw.split_at(raw.len() - 32);
    if !bool::from(hmac(key, b"reportd session cookie\0", body).ct_eq(tag)) {
        return None;
    }
    let issued = u64::from_be_bytes(body[..8].try_into().ok()?);
    let len = usize::from(u16::from_be_bytes(body[24..26].try_into().ok()?));
    if body.len() != 26 + len + 32 {
        return None;
    }
    let name = String::from_utf8(body[26..26 + len].to_vec()).ok()?;
    let mut hd = [0u8; 32];
    hd.copy_from_slice(&body[26 + len..]);
    Some((name, issued, hd))
}

impl Sessions {
    /// Opens a session and returns its token, signed with `key` (the session key).
    pub(crate) fn open(
        &self,
        key: &[u8; 32],
        principal: Arc<Principal>,
        generation: i64,
        hash_digest: [u8; 32],
    ) -> String {
        // A name too long for a token still gets a session on this node only.
        let token = sign(key, &principal.name, unix_now(), &hash_digest).unwrap_or_else(|| {
            let mut raw = Zeroizing::new([0u8; 32]);
            rand::rngs::OsRng.fill_bytes(&mut raw[..]);
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[..])
        });
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
    /// password hash; marks the session used. A token this node has not seen, signed with
    /// `key` (another node of the cluster issued it) and younger than [`MAX_AGE`], opens a
    /// session here whose user the caller re-reads (its generation is unknown).
    pub(crate) fn get(
        &self,
        sign_key: &[u8; 32],
        token: &str,
    ) -> Option<(Arc<Principal>, i64, [u8; 32])> {
        let now = Instant::now();
        let key = digest(token);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(&key) {
            let (name, issued, hd) = verify(sign_key, token)?;
            let age = unix_now().checked_sub(issued)?;
            if age >= MAX_AGE.as_secs() {
                return None;
            }
            {
                let mut closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
                let wall = std::time::SystemTime::now();
                closed.retain(|_, until| *until > wall);
                if closed.contains_key(&key) {
                    return None;
                }
            }
            map.retain(|_, e| live(e, now));
            if map.len() >= MAX_SESSIONS
                && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
            map.insert(
                key,
                Entry {
                    principal: Arc::new(Principal {
                        name,
                        system_roles: Vec::new(),
                    }),
                    generation: i64::MIN,
                    hash_digest: hd,
                    created: now.checked_sub(Duration::from_secs(age)).unwrap_or(now),
                    used: now,
                },
            );
        }
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

    /// Ends a session (nothing when there is none); its signature no longer opens it here.
    pub(crate) fn close(&self, token: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&digest(token));
        let mut closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
        let wall = std::time::SystemTime::now();
        closed.retain(|_, until| *until > wall);
        if closed.len() < MAX_SESSIONS {
            closed.insert(digest(token), wall + MAX_AGE);
        }
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
                // Unpadded base64url of a token; anything else is no session of ours.
                if (43..=(TOKEN_FIXED + MAX_NAME) * 4 / 3 + 4).contains(&val.len())
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
    let keys = state.key();
    let hash = catalog
        .get_user(&principal.name)
        .await?
        .map(|u| hash_digest(&keys.session, &u.password_hash))
        .ok_or(Error::Unauthorized)?;
    let shown =
        httpsys::logsafe::escape(&principal.name, httpsys::logsafe::DEFAULT_MAX).to_string();
    let token = state
        .sessions()
        .open(&keys.session, principal, generation, hash);
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

    const K: [u8; 32] = [5; 32];

    fn alice() -> Arc<Principal> {
        Arc::new(Principal {
            name: "alice".into(),
            system_roles: Vec::new(),
        })
    }

    #[test]
    fn sessions_open_find_and_close() {
        let s = Sessions::default();
        let t = s.open(&K, alice(), 3, [1; 32]);
        let (p, g, h) = s.get(&K, &t).unwrap();
        assert_eq!((p.name.as_str(), g, h), ("alice", 3, [1; 32]));
        assert!(s.get(&K, "x").is_none());
        s.close(&t);
        assert!(
            s.get(&K, &t).is_none(),
            "closed: its signature does not reopen it"
        );
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn another_node_with_the_same_key_accepts_the_token() {
        let (a, b) = (Sessions::default(), Sessions::default());
        let t = a.open(&K, alice(), 3, [1; 32]);
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, format!("{COOKIE}={t}").parse().unwrap());
        assert_eq!(token_of(&h).as_deref(), Some(t.as_str()));
        let (p, g, d) = b.get(&K, &t).unwrap();
        assert_eq!((p.name.as_str(), g, d), ("alice", i64::MIN, [1; 32]));
        assert!(
            Sessions::default().get(&[8; 32], &t).is_none(),
            "another key"
        );
        let mut forged = t.clone().into_bytes();
        let i = forged.len() / 2;
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(
            Sessions::default().get(&K, &forged).is_none(),
            "changed token"
        );
        let old = sign(&K, "alice", unix_now() - MAX_AGE.as_secs(), &[1; 32]).unwrap();
        assert!(Sessions::default().get(&K, &old).is_none(), "too old");
    }

    #[test]
    fn the_table_is_bounded() {
        let s = Sessions::default();
        let first = s.open(&K, alice(), 0, [0; 32]);
        for _ in 0..MAX_SESSIONS {
            s.open(&K, alice(), 0, [0; 32]);
        }
        assert_eq!(s.len(), MAX_SESSIONS);
        let digest_first = digest(&first);
        assert!(
            !s.map.lock().unwrap().contains_key(&digest_first),
            "the least recently used one ended"
        );
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
