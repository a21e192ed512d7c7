//! The gate every application request passes, in this order:
//!
//! 1. **SecureConnectionLevel** (SPEC §6): at 1 or more, a plain-http request is redirected
//!    to the application's https reservation (301 for GET/HEAD, 308 otherwise) before its
//!    credentials are looked at; with no https reservation, a request carrying credentials
//!    is refused (403, "only over https") and one without gets a 403 page naming
//!    `reportctl webservice https`.
//! 2. **Database present**: otherwise 503 naming `reportctl database create`.
//! 3. **HTTP Basic** against catalog users: 401 with `WWW-Authenticate: Basic` without or
//!    with wrong credentials. Verified credentials are cached ([`crate::credentials`]) and
//!    a hit is served at once, even while the name is throttled. A miss goes through
//!    [`crate::signin`]: refused with 429 and `Retry-After` while the name or the source
//!    address is locked out; else it waits for the name's gate (one verification per name
//!    at a time), is charged to the throttle, waits its delay, and is verified with argon2id
//!    on the KDF workers. An unknown name is answered after the same time without a hash,
//!    so timing does not reveal user names. On the portal, the session cookie of a REST
//!    `Session` sign-in ([`crate::rest::session`]) stands in for Basic credentials, and
//!    `POST api/v2.0/Session` itself passes without any (its body carries them).
//!
//! User names are client-controlled: they are logged only through
//! [`httpsys::logsafe::escape`].
//!
//! The gate leaves a [`Session`] in the request extensions. Authorization is the handlers'
//! job, through [`Session::can`]: System Administrators may do everything; others need an
//! item role that permits the action, on the item (inherited from above).
//!
//! Choice: a request for an item the user holds no role on is answered 403 (SSRS answers
//! "access denied" too), and an unknown path 404; this tells a signed-in user whether a
//! path exists, which SSRS's URL access also does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use catalog::{ItemPath, Permission, Role, SharedCatalog};
use http::{HeaderMap, Method, header};
use httpsys::logsafe::{self, RateLimited};
use httpsys::{RequestContext, warn_limited};
use zeroize::Zeroizing;

use crate::credentials::Principal;
use crate::signin::{self, Policy};
use crate::{AppState, Error};

/// Who is asking, and the catalog snapshot counter their request was checked against.
#[derive(Clone)]
pub struct Session {
    pub catalog: SharedCatalog,
    /// `catalog.generation()` read once at the start of the request.
    pub generation: i64,
    pub principal: Arc<Principal>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.principal.name)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The item roles the user holds on `path` (empty for none). System roles are in
    /// `principal.system_roles`.
    pub async fn item_roles(&self, path: &ItemPath) -> Result<Vec<Role>, Error> {
        Ok(self
            .catalog
            .effective_roles(path, &self.principal.name)
            .await?)
    }

    /// Whether the user may do `what` on the item at `path`.
    pub async fn can(&self, path: &ItemPath, what: Permission) -> Result<bool, Error> {
        if self.principal.system_roles.iter().any(|r| r.permits(what)) {
            // System Administrator; System User only for ViewSystemProperties.
            return Ok(true);
        }
        Ok(self.item_roles(path).await?.iter().any(|r| r.permits(what)))
    }

    /// [`Session::can`], or a 403 naming the user, the action and the item.
    pub async fn require(&self, path: &ItemPath, what: Permission) -> Result<(), Error> {
        if self.can(path, what).await? {
            Ok(())
        } else {
            let action = match what {
                Permission::Read => "view",
                Permission::Write => "change",
                Permission::ManageSecurity => "manage security of",
                Permission::ViewSystemProperties => "view the system properties of",
            };
            Err(Error::Forbidden(format!(
                "the permissions granted to user '{}' are insufficient to {action} '{path}'; ask an administrator for a role on it",
                self.principal.name
            )))
        }
    }
}

/// The gate, as an axum middleware: see the module documentation.
pub(crate) async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match admit(&state, &mut req).await {
        Ok(None) => next.run(req).await,
        Ok(Some(early)) => early,
        Err(e) => e.into_response(),
    }
}

/// Runs the checks; `Ok(Some(response))` for a redirect, `Ok(None)` to go on with a
/// [`Session`] inserted.
async fn admit(state: &AppState, req: &mut Request) -> Result<Option<Response>, Error> {
    let peer = {
        // Scoped: the borrow of the request must not live across an await.
        let ctx = req.extensions().get::<RequestContext>().ok_or_else(|| {
            Error::Internal("no RequestContext on the request; the listener must insert one".into())
        })?;
        let level = state.secure_connection_level();
        if level >= 1 && !ctx.secure {
            if let Some(base) = &ctx.https_base {
                return Ok(Some(https_redirect(base, req.method(), req.uri())));
            }
            return Err(if req.headers().contains_key(header::AUTHORIZATION) {
                Error::CredentialsOverHttp(level)
            } else {
                Error::HttpsRequired(level)
            });
        }
        ctx.peer
    };
    let catalog = state.catalog().await?;
    let Some((name, password)) = basic_credentials(req.headers()) else {
        // The portal also accepts the session cookie of a REST `Session` sign-in, and lets
        // that sign-in itself through (its body carries the credentials).
        let portal = req
            .extensions()
            .get::<RequestContext>()
            .is_some_and(|c| c.app == httpsys::Application::Portal);
        let sign_in = portal && crate::rest::session::is_sign_in(req.method(), req.uri().path());
        if portal && let Some(token) = crate::rest::session::token_of(req.headers()) {
            let generation = state.generation(&catalog).await?;
            match cookie_session(state, &catalog, &token, generation).await {
                Ok(principal) => {
                    req.extensions_mut().insert(crate::rest::session::ViaCookie);
                    req.extensions_mut().insert(Session {
                        catalog,
                        generation,
                        principal,
                    });
                    return Ok(None);
                }
                // An ended session may sign in again.
                Err(Error::Unauthorized) if sign_in => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        if sign_in {
            return Ok(None);
        }
        return Err(Error::Unauthorized);
    };
    let generation = state.generation(&catalog).await?;
    let principal = authenticate(state, &catalog, &name, &password, generation, peer).await?;
    req.extensions_mut().insert(Session {
        catalog,
        generation,
        principal,
    });
    Ok(None)
}

/// The user of a live cookie session, re-read from the catalog when it changed (a removed
/// user or a changed password ends the session): 401 otherwise.
async fn cookie_session(
    state: &AppState,
    catalog: &SharedCatalog,
    token: &str,
    generation: i64,
) -> Result<Arc<Principal>, Error> {
    let sessions = state.sessions();
    let keys = state.key();
    let (principal, seen, digest) = sessions
        .get(&keys.session, token)
        .ok_or(Error::Unauthorized)?;
    if seen == generation {
        return Ok(principal);
    }
    match catalog.get_user(&principal.name).await? {
        Some(u) if crate::rest::session::hash_digest(&keys.session, &u.password_hash) == digest => {
            let p = Arc::new(Principal {
                name: u.name,
                system_roles: u.system_roles,
            });
            sessions.refresh(token, p.clone(), generation);
            Ok(p)
        }
        _ => {
            sessions.close(token);
            Err(Error::Unauthorized)
        }
    }
}

/// Held back: lines about refused sign-ins that a client can cause at will.
static LOCKED_OUT: RateLimited = RateLimited::new(Duration::from_secs(10));

fn retry_after(wait: Duration) -> Error {
    Error::TooManySignIns(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
}

/// A verified principal for `name` and `password`: from the credential cache, else through
/// the throttled sign-in. Also the REST `Session` sign-in's check. A credential that missed
/// the cache goes through throttle, gate, delay, verification (see the module
/// documentation). Cancel-safe: the gate and the charge are settled by RAII and the
/// throttle's own expiry; a hash that started finishes on its worker within the bound.
pub(crate) async fn authenticate(
    state: &AppState,
    catalog: &SharedCatalog,
    name: &str,
    password: &Zeroizing<String>,
    generation: i64,
    peer: SocketAddr,
) -> Result<Arc<Principal>, Error> {
    if let Some(p) = state.credentials().get(name, password, generation) {
        return Ok(p);
    }
    let signin = state.sign_in();
    let policy = Policy::of(&state.settings());
    let key = signin::name_key(name);
    let addr = signin::address_key(peer.ip());
    let shown = logsafe::escape(name, logsafe::DEFAULT_MAX);
    if let Some(wait) = signin.locked(&key, addr, &policy) {
        warn_limited!(
            LOCKED_OUT,
            "sign-in refused while locked out: user {shown} from {peer}"
        );
        return Err(retry_after(wait));
    }
    let Some(gate) = signin.gate(&key) else {
        warn_limited!(LOCKED_OUT, "sign-in refused: too many sign-ins in progress");
        return Err(Error::TooManySignIns(1));
    };
    // One verification per name at a time; whoever waited finds it cached.
    let _turn = gate.turn().await;
    if let Some(p) = state.credentials().get(name, password, generation) {
        return Ok(p);
    }
    let delay = match signin.begin(&key, addr, &policy) {
        Ok(d) => d,
        Err(wait) => {
            warn_limited!(
                LOCKED_OUT,
                "sign-in refused while locked out: user {shown} from {peer}"
            );
            return Err(retry_after(wait));
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match verify(state, catalog, name, password).await {
        Ok(Some(p)) => {
            signin.refund(&key, addr, true, &policy);
            let p = Arc::new(p);
            state
                .credentials()
                .insert(name, password, generation, p.clone());
            Ok(p)
        }
        Ok(None) => {
            tracing::info!(user = %shown, %peer, "sign-in refused: unknown user or wrong password");
            Err(Error::Unauthorized)
        }
        Err(e) => {
            // No verdict (the database failed): not the client's failure.
            signin.refund(&key, addr, false, &policy);
            Err(e)
        }
    }
}

/// `https_base` + the vdir-relative path + query. `https_base` already ends with the vdir.
fn https_redirect(base: &str, method: &Method, uri: &http::Uri) -> Response {
    let base = base.trim_end_matches('/');
    let path = uri.path();
    let mut target = String::with_capacity(base.len() + path.len() + 64);
    target.push_str(base);
    if path != "/" {
        target.push_str(path);
    }
    if let Some(q) = uri.query() {
        target.push('?');
        target.push_str(q);
    }
    // Redirect::permanent is 308 (method kept): right for POST; GET/HEAD get the classic 301.
    let mut resp = Redirect::permanent(&target).into_response();
    if method == Method::GET || method == Method::HEAD {
        *resp.status_mut() = http::StatusCode::MOVED_PERMANENTLY;
    }
    resp
}

/// Parses `Authorization: Basic base64(user:password)`. None when absent or malformed
/// (not Basic, not base64, not UTF-8, no colon, empty user name).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, Zeroizing<String>)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?,
    );
    let text = std::str::from_utf8(&raw).ok()?;
    let (user, password) = text.split_once(':')?;
    if user.is_empty() {
        return None;
    }
    Some((user.to_owned(), Zeroizing::new(password.to_owned())))
}

/// Verifies `password` against the catalog's hash for `name` on the KDF workers. Unknown
/// users take the same time without a hash ([`crate::signin`]). A name longer than any
/// catalog user name is not looked up.
async fn verify(
    state: &AppState,
    catalog: &SharedCatalog,
    name: &str,
    password: &Zeroizing<String>,
) -> Result<Option<Principal>, Error> {
    let user = if name.chars().count() <= signin::MAX_NAME_KEY_CHARS {
        catalog.get_user(name).await?
    } else {
        None
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = state.sign_in().check_password(hash, password).await?;
    Ok(match (ok, user) {
        (true, Some(u)) => Some(Principal {
            name: u.name,
            system_roles: u.system_roles,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::AUTHORIZATION, v.parse().unwrap());
        m
    }

    #[test]
    fn basic_parses_and_refuses_malformed() {
        let b = base64::engine::general_purpose::STANDARD.encode("al ice:p:w");
        let (u, p) = basic_credentials(&h(&format!("Basic {b}"))).unwrap();
        assert_eq!((u.as_str(), p.as_str()), ("al ice", "p:w"));
        assert!(basic_credentials(&h("Bearer x")).is_none());
        assert!(basic_credentials(&h("Basic !!!")).is_none());
        let nocolon = base64::engine::general_purpose::STANDARD.encode("alice");
        assert!(basic_credentials(&h(&format!("Basic {nocolon}"))).is_none());
        assert!(basic_credentials(&HeaderMap::new()).is_none());
    }

    #[test]
    fn redirect_keeps_path_and_query() {
        let r = https_redirect(
            "https://h:8443/ReportServer",
            &Method::GET,
            &"/?%2fSales&rs:Command=ListChildren".parse().unwrap(),
        );
        assert_eq!(r.status(), 301);
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://h:8443/ReportServer?%2fSales&rs:Command=ListChildren"
        );
        let r = https_redirect(
            "https://h/Reports",
            &Method::POST,
            &"/upload".parse().unwrap(),
        );
        assert_eq!(r.status(), 308);
        assert_eq!(r.headers()[header::LOCATION], "https://h/Reports/upload");
    }
}
