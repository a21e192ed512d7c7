//! One ACME order with instant-acme: account, order, HTTP-01, finalize, chain.
//!
//! The key of the certificate is made here (rcgen on aws-lc-rs, ECDSA P-256) and handed
//! back PEM in a [`Zeroizing`] buffer with the chain, for the installer to import. HTTP-01
//! answers are published on a [`ChallengeBoard`] (the listener serves them on the http
//! reservation) and withdrawn when the order ends, however it ends.
//!
//! Must not: store anything (the caller keeps the returned account credentials, sealed),
//! log key authorizations or keys.

use std::path::Path;
use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus,
    RetryPolicy,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Where the challenge answers go while an order is pending.
pub trait ChallengeBoard: Send + Sync {
    /// Serve `key_authorization` at `/.well-known/acme-challenge/{token}`.
    fn publish(&self, token: &str, key_authorization: &str);
    /// Stop serving `token`.
    fn withdraw(&self, token: &str);
    /// Serve the TLS-ALPN-01 certificate `cert_der` (key `key_der`, PKCS#8) to handshakes
    /// for `name` offering ALPN `acme-tls/1`. Err: this board cannot.
    fn publish_tls_alpn(&self, name: &str, cert_der: &[u8], key_der: &[u8]) -> Result<()> {
        let _ = (cert_der, key_der);
        Err(Error::Invalid(format!(
            "TLS-ALPN-01 is not served here (for {name}); use --challenge http-01"
        )))
    }
    /// Stop serving the TLS-ALPN-01 certificate of `name`.
    fn withdraw_tls_alpn(&self, name: &str) {
        let _ = name;
    }
}

/// Which challenge proves control of the names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChallengeKind {
    /// A token over plain http on port 80 (the http URL reservation).
    #[default]
    #[serde(rename = "http-01")]
    Http01,
    /// A certificate for ALPN `acme-tls/1` on port 443 (the https reservation).
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

impl std::str::FromStr for ChallengeKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "http-01" => Ok(ChallengeKind::Http01),
            "tls-alpn-01" => Ok(ChallengeKind::TlsAlpn01),
            _ => Err(format!(
                "unknown challenge {s:?}: use http-01 or tls-alpn-01"
            )),
        }
    }
}

impl std::fmt::Display for ChallengeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChallengeKind::Http01 => "http-01",
            ChallengeKind::TlsAlpn01 => "tls-alpn-01",
        })
    }
}

/// What to order.
#[derive(Debug, Clone)]
pub struct OrderRequest<'a> {
    pub dns_names: &'a [String],
    pub directory: &'a str,
    pub directory_ca: Option<&'a Path>,
    pub email: Option<&'a str>,
    pub challenge: ChallengeKind,
}

/// A certificate obtained.
pub struct Obtained {
    /// Leaf first, then the chain, PEM.
    pub chain_pem: String,
    /// The new certificate's key, PKCS#8 PEM.
    pub key_pem: Zeroizing<String>,
    /// New account credentials (JSON) when a new account was registered: store them.
    pub new_account: Option<Zeroizing<Vec<u8>>>,
    /// The CA's suggested renewal window (ARI), when it offers one.
    pub ari_window: Option<(OffsetDateTime, OffsetDateTime)>,
}

impl std::fmt::Debug for Obtained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Obtained")
            .field("ari_window", &self.ari_window)
            .finish_non_exhaustive()
    }
}

/// How long an order may take before it counts as failed.
const ORDER_TIMEOUT: Duration = Duration::from_secs(90);

/// Withdraws the published answers when dropped.
struct Published<'a> {
    board: &'a dyn ChallengeBoard,
    tokens: Vec<String>,
    alpn_names: Vec<String>,
}

impl Drop for Published<'_> {
    fn drop(&mut self) {
        for t in &self.tokens {
            self.board.withdraw(t);
        }
        for n in &self.alpn_names {
            self.board.withdraw_tls_alpn(n);
        }
    }
}

/// The self-signed TLS-ALPN-01 certificate for `name` carrying the SHA-256 `digest` of the
/// key authorization (RFC 8737): DER certificate and PKCS#8 DER key.
fn tls_alpn_certificate(name: &str, digest: &[u8]) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
    let fail =
        |e: rcgen::Error| Error::Install(format!("cannot make the TLS-ALPN-01 certificate: {e}"));
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).map_err(fail)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok((cert.der().to_vec(), Zeroizing::new(key.serialize_der())))
}

/// Checks the options of an order before anything is registered.
pub fn validate(req: &OrderRequest<'_>) -> Result<()> {
    if req.dns_names.is_empty() {
        return Err(Error::Invalid(
            "give at least one --dns-name: the host name the certificate is for".into(),
        ));
    }
    for n in req.dns_names {
        let ok = !n.is_empty()
            && n.len() <= 253
            && n.parse::<std::net::IpAddr>().is_err()
            && n.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !ok {
            return Err(Error::Invalid(format!(
                "--dns-name {n:?} is not a DNS host name (letters, digits and hyphens in dot-separated labels; HTTP-01 cannot validate an IP address or a wildcard)"
            )));
        }
    }
    let lower = req.directory.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(Error::Invalid(format!(
            "--directory {:?} is not an http(s) URL; give the CA's ACME directory URL",
            req.directory
        )));
    }
    if let Some(ca) = req.directory_ca {
        let pem = std::fs::read(ca).map_err(|e| {
            Error::Invalid(format!("cannot read --directory-ca {}: {e}", ca.display()))
        })?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(Error::Invalid(format!(
                "--directory-ca {} holds no PEM certificate; give the CA certificate that signed the ACME server's https certificate",
                ca.display()
            )));
        }
    }
    if let Some(e) = req.email
        && (!e.contains('@') || e.contains(char::is_whitespace))
    {
        return Err(Error::Invalid(format!(
            "--email {e:?} is not an e-mail address"
        )));
    }
    Ok(())
}

/// Obtains a certificate for `req`, with the account `account_json` (or a new one).
pub async fn obtain(
    req: &OrderRequest<'_>,
    account_json: Option<&[u8]>,
    board: &dyn ChallengeBoard,
) -> Result<Obtained> {
    validate(req)?;
    let builder = || -> Result<instant_acme::AccountBuilder> {
        match req.directory_ca {
            Some(ca) => Account::builder_with_root(ca).map_err(|e| {
                Error::Invalid(format!(
                    "--directory-ca {}: {e}; give the PEM of the CA that signed the ACME server's https certificate",
                    ca.display()
                ))
            }),
            None => Account::builder().map_err(|e| Error::Unreachable {
                url: req.directory.to_owned(),
                detail: format!("the TLS client cannot start: {e}"),
            }),
        }
    };
    let mut new_account = None;
    let existing = match account_json {
        Some(j) => match serde_json::from_slice::<instant_acme::AccountCredentials>(j) {
            Ok(creds) => match builder()?.from_credentials(creds).await {
                Ok(a) => Some(a),
                Err(e) => return Err(directory_error(req.directory, e)),
            },
            Err(_) => None,
        },
        None => None,
    };
    let ids: Vec<Identifier> = req
        .dns_names
        .iter()
        .map(|n| Identifier::Dns(n.clone()))
        .collect();
    // An account the CA still knows places the order; a new account is registered when
    // there is none or the CA forgot it (pebble keeps accounts in memory).
    let ordered = match existing {
        Some(a) => match a.new_order(&NewOrder::new(&ids)).await {
            Ok(o) => Some((a, o)),
            Err(instant_acme::Error::Api(p))
                if p.r#type.as_deref().is_some_and(|t| {
                    t.ends_with(":accountDoesNotExist") || t.ends_with(":unauthorized")
                }) =>
            {
                None
            }
            Err(e) => return Err(refused("order", e)),
        },
        None => None,
    };
    let (account, mut order) = match ordered {
        Some(ordered) => ordered,
        None => {
            let (a, creds) = register(req, builder()?).await?;
            new_account = Some(creds);
            let o = a
                .new_order(&NewOrder::new(&ids))
                .await
                .map_err(|e| refused("order", e))?;
            (a, o)
        }
    };

    let mut published = Published {
        board,
        tokens: Vec::new(),
        alpn_names: Vec::new(),
    };
    let wanted = match req.challenge {
        ChallengeKind::Http01 => ChallengeType::Http01,
        ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
    };
    {
        let mut authzs = order.authorizations();
        while let Some(a) = authzs.next().await {
            let mut a = a.map_err(|e| refused("authorization", e))?;
            let name = a.identifier().to_string();
            match a.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(Error::Challenge {
                        name,
                        detail: format!("the authorization is {other:?}"),
                    });
                }
            }
            let mut ch = a
                .challenge(wanted.clone())
                .ok_or_else(|| Error::Challenge {
                    name: name.clone(),
                    detail: format!("the CA offers no {} challenge for it", req.challenge),
                })?;
            let ka = ch.key_authorization();
            match req.challenge {
                ChallengeKind::Http01 => {
                    board.publish(&ch.token, ka.as_str());
                    published.tokens.push(ch.token.clone());
                }
                ChallengeKind::TlsAlpn01 => {
                    let (cert, key) = tls_alpn_certificate(&name, ka.digest().as_ref())?;
                    board.publish_tls_alpn(&name, &cert, &key)?;
                    published.alpn_names.push(name.clone());
                }
            }
            ch.set_ready().await.map_err(|e| Error::Challenge {
                name: name.clone(),
                detail: e.to_string(),
            })?;
        }
    }
    let retry = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .backoff(1.5)
        .timeout(ORDER_TIMEOUT);
    // An order that turns invalid comes back as the CA's problem (instant-acme) or as a
    // status: either way, name the identifier whose challenge failed.
    let (status, problem) = match order.poll_ready(&retry).await {
        Ok(s) => (s, None),
        Err(instant_acme::Error::Api(p)) => (OrderStatus::Invalid, Some(p.to_string())),
        Err(e) => return Err(refused("order", e)),
    };
    if status != OrderStatus::Ready {
        // Name the identifier whose challenge failed, with the CA's reason.
        let mut authzs = order.authorizations();
        while let Some(a) = authzs.next().await {
            let Ok(a) = a else { continue };
            if a.status == AuthorizationStatus::Valid {
                continue;
            }
            let detail = a
                .challenges
                .iter()
                .find_map(|c| c.error.as_ref().map(|p| p.to_string()))
                .or_else(|| problem.clone())
                .unwrap_or_else(|| format!("the authorization is {:?}", a.status));
            return Err(Error::Challenge {
                name: a.identifier().to_string(),
                detail,
            });
        }
        return Err(match problem {
            Some(p) => Error::Challenge {
                name: req.dns_names.join(", "),
                detail: p,
            },
            None => Error::Refused {
                step: "order",
                detail: format!("the order is {status:?}"),
            },
        });
    }
    drop(published);

    let key = rcgen::KeyPair::generate()
        .map_err(|e| Error::Install(format!("cannot make a key: {e}")))?;
    let mut params = rcgen::CertificateParams::new(req.dns_names.to_vec())
        .map_err(|e| Error::Invalid(format!("--dns-name: {e}")))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(&key)
        .map_err(|e| Error::Install(format!("cannot make the certificate request: {e}")))?;
    order
        .finalize_csr(csr.der())
        .await
        .map_err(|e| refused("finalization", e))?;
    let chain_pem = order
        .poll_certificate(&retry)
        .await
        .map_err(|e| refused("certificate download", e))?;
    let key_pem = Zeroizing::new(key.serialize_pem());
    drop(key);

    let ari_window = ari(&account, &chain_pem).await;
    Ok(Obtained {
        chain_pem,
        key_pem,
        new_account,
        ari_window,
    })
}

async fn register(
    req: &OrderRequest<'_>,
    builder: instant_acme::AccountBuilder,
) -> Result<(Account, Zeroizing<Vec<u8>>)> {
    let contact = req.email.map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, creds) = builder
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            req.directory.to_owned(),
            None,
        )
        .await
        .map_err(|e| directory_error(req.directory, e))?;
    let json = serde_json::to_vec(&creds)
        .map_err(|e| Error::Registry(format!("cannot encode the ACME account: {e}")))?;
    Ok((account, Zeroizing::new(json)))
}

/// The ARI window of the leaf of `chain_pem`, when the CA offers ARI.
async fn ari(account: &Account, chain_pem: &str) -> Option<(OffsetDateTime, OffsetDateTime)> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let leaf = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()?
        .ok()?;
    let id = instant_acme::CertificateIdentifier::try_from(&leaf).ok()?;
    match account.renewal_info(&id).await {
        Ok((info, _)) => Some((info.suggested_window.start, info.suggested_window.end)),
        Err(_) => None,
    }
}

fn refused(step: &'static str, e: instant_acme::Error) -> Error {
    Error::Refused {
        step,
        detail: e.to_string(),
    }
}

/// An error while reaching the directory: unreachable, or not ACME.
fn directory_error(url: &str, e: instant_acme::Error) -> Error {
    match e {
        instant_acme::Error::Json(j) => Error::NotADirectory {
            url: url.to_owned(),
            detail: format!("its answer is not an ACME directory document: {j}"),
        },
        instant_acme::Error::Api(p) => Error::Refused {
            step: "account registration",
            detail: p.to_string(),
        },
        instant_acme::Error::InvalidUri(u) => {
            Error::Invalid(format!("--directory {url:?} is not a valid URL: {u}"))
        }
        other => {
            // Walk the source chain: hyper's "client error (Connect)" hides the reason.
            let mut detail = other.to_string();
            let mut src = std::error::Error::source(&other);
            while let Some(s) = src {
                detail.push_str(": ");
                detail.push_str(&s.to_string());
                src = s.source();
            }
            Error::Unreachable {
                url: url.to_owned(),
                detail,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(names: &'a [String], dir: &'a str) -> OrderRequest<'a> {
        OrderRequest {
            dns_names: names,
            directory: dir,
            directory_ca: None,
            email: None,
            challenge: ChallengeKind::Http01,
        }
    }

    #[test]
    fn bad_options_are_refused_with_what_to_give() {
        let ok = vec!["reports.test".to_string()];
        validate(&req(&ok, "https://localhost:14000/dir")).unwrap();
        let e = validate(&req(&[], "https://x/dir"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--dns-name"), "{e}");
        let ip = vec!["127.0.0.1".to_string()];
        let e = validate(&req(&ip, "https://x/dir"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("IP address"), "{e}");
        let e = validate(&req(&ok, "ftp://x")).unwrap_err().to_string();
        assert!(e.contains("--directory"), "{e}");
        let mut r = req(&ok, "https://x/dir");
        r.email = Some("nobody");
        assert!(validate(&r).unwrap_err().to_string().contains("--email"));
    }

    #[tokio::test]
    async fn an_unreachable_directory_says_so() {
        struct Nothing;
        impl ChallengeBoard for Nothing {
            fn publish(&self, _: &str, _: &str) {}
            fn withdraw(&self, _: &str) {}
        }
        // A port nobody listens on: a socket bound but not listening, held to the end of
        // the test (connecting is refused; no other process can take the port meanwhile).
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        let port = sock.local_addr().unwrap().as_socket().unwrap().port();
        let names = vec!["reports.test".to_string()];
        let dir = format!("https://127.0.0.1:{port}/dir");
        let e = obtain(&req(&names, &dir), None, &Nothing)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{e}");
        assert!(e.to_string().contains("cannot reach"), "{e}");
        drop(sock);
    }
}
