//! The gate every application request passes, in this order:
//!
//! 1. **SecureConnectionLevel** (SPEC §6): at 1 or more, a plain-http request is redirected
//!    to the application's https reservation (301 for GET/HEAD, 308 otherwise) before its
//!    credentials are looked at; with no https reservation, a request carrying credentials
//!    is refused (403, "only over https") and one without gets a 403 page naming
//!    `reportctl webservice https`.
//! 2. **Database present**: otherwise 503 naming `reportctl database create`.
//! 3. **HTTP Basic** against catalog users: 401 with `WWW-Authenticate: Basic` without or
//!    with wrong credentials. Verified credentials are cached ([`crate::credentials`]);
//!    a miss verifies with argon2id on the blocking pool, bounded by a semaphore. An unknown
//!    user costs the same KDF as a wrong password, so timing does not reveal user names.
//!
//! The gate leaves a [`Session`] in the request extensions. Authorization is the handlers'
//! job, through [`Session::can`]: System Administrators may do everything; others need an
//! item role that permits the action, on the item (inherited from above).
//!
//! Choice: a request for an item the user holds no role on is answered 403 (SSRS answers
//! "access denied" too), and an unknown path 404; this tells a signed-in user whether a
//! path exists, which SSRS's URL access also does.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use catalog::{ItemPath, Permission, Role, SharedCatalog};
use http::{HeaderMap, Method, header};
use httpsys::RequestContext;
use zeroize::Zeroizing;

use crate::credentials::Principal;
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
        return Err(Error::Unauthorized);
    };
    let generation = state.generation(&catalog).await?;
    let principal = match state.credentials().get(&name, &password, generation) {
        Some(p) => p,
        None => {
            // One verification per user at a time; whoever waited finds it cached.
            let gate = state.sign_in_gate(&name);
            let turn = gate.lock().await;
            let outcome = match state.credentials().get(&name, &password, generation) {
                Some(p) => Ok(Some(p)),
                None => verify(state, &catalog, &name, &password).await.map(|v| {
                    v.map(|p| {
                        let p = Arc::new(p);
                        state
                            .credentials()
                            .insert(&name, &password, generation, p.clone());
                        p
                    })
                }),
            };
            drop(turn);
            state.release_sign_in_gate(&name, gate);
            match outcome? {
                Some(p) => p,
                None => {
                    tracing::info!(user = %name, %peer, "sign-in refused: unknown user or wrong password");
                    return Err(Error::Unauthorized);
                }
            }
        }
    };
    req.extensions_mut().insert(Session {
        catalog,
        generation,
        principal,
    });
    Ok(None)
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

/// Verifies `password` against the catalog's hash for `name` with the KDF on the blocking
/// pool. Unknown users are verified against a fixed dummy hash, so they cost the same.
async fn verify(
    state: &AppState,
    catalog: &SharedCatalog,
    name: &str,
    password: &Zeroizing<String>,
) -> Result<Option<Principal>, Error> {
    let user = catalog.get_user(name).await?;
    state.count_verification();
    let _permit = state
        .kdf_permits()
        .acquire()
        .await
        .map_err(|e| Error::Internal(format!("KDF semaphore closed: {e}")))?;
    let password = password.clone();
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(h) => catalog::password::verify(&password, &h),
        None => {
            catalog::password::verify_nothing(&password);
            false
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("password verification panicked: {e}")))?;
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
