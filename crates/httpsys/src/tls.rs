//! TLS for the listener: one rustls `ServerConfig` per SSL binding, and the choice of binding
//! per connection after the ClientHello.
//!
//! Owns the binding table ([`TlsTable`]), built by [`crate::Listener::apply`] from the
//! repository's SSL bindings, and the rules that choose a binding for a ClientHello: a
//! `hostnameport` binding matching SNI, then an `ipport` binding with the exact local address,
//! then a central-store binding (`ccs:PORT`) whose store holds a certificate for SNI, then
//! `0.0.0.0:port` / `[::]:port`. No match means a fatal alert, never a wrong certificate.
//!
//! A central-store binding names no certificate: its configuration's resolver picks, per
//! handshake, from the [`CentralIndex`] (the cluster certificate store as the server last
//! loaded it, swapped whole by [`crate::Listener::set_central_store`]): of the certificates
//! valid now whose DNS names cover the server name (exact, or a `*.` wildcard for exactly one
//! leftmost label), the one with the latest NotBefore. No SNI or no such certificate: the
//! binding does not match.
//!
//! Each binding has its own session cache and ticketer (they live in its `ServerConfig`), so
//! resumption is scoped to the binding: a session from one binding never resumes on another,
//! and a binding that is removed and added again starts with no sessions. A binding whose
//! certificate, key and policy did not change keeps its `ServerConfig` across changes, so
//! unrelated changes do not end resumption.
//!
//! It must not do I/O on the handshake path: certificates are loaded through [`CertSource`]
//! when the table is built, never while choosing. It must not know how certificates are
//! stored (that is the certificate store's job, behind [`CertSource`]).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::CertifiedKey;
use rustls::{CipherSuite, ServerConfig, SupportedProtocolVersion};
use tokio::sync::watch;

use crate::listener::Change;
use crate::{Endpoint, MinTls, SslBinding, TlsPolicy};

/// Where the listener gets the certificate and private key of a binding.
///
/// Implemented by the server over the certificate store; called when bindings are applied,
/// never during a handshake.
pub trait CertSource: Send + Sync + 'static {
    /// The certificate chain (end entity first) and signing key of certificate `thumbprint`.
    /// The error is a human-readable reason that names the problem and the fix, e.g.
    /// "certificate ABC... is not in store My; import it again or remove the binding".
    fn certified_key(&self, thumbprint: &str) -> Result<Arc<CertifiedKey>, String>;
}

/// Whether an SSL binding serves handshakes now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindingState {
    /// The binding's certificate is loaded; handshakes on its endpoint complete.
    Active,
    /// The certificate could not be loaded (the text says why); the endpoint completes no
    /// handshake until the certificate is back or the binding is removed.
    CertificateMissing(String),
}

impl fmt::Display for BindingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindingState::Active => f.write_str("active"),
            BindingState::CertificateMissing(why) => write!(f, "certificate missing: {why}"),
        }
    }
}

/// One certificate of the central (cluster) store, loaded and ready to serve.
#[derive(Clone)]
pub struct CentralCert {
    /// Thumbprint, for logs and `status`.
    pub thumbprint: String,
    /// The DNS names of its subject alternative names (`*.example.com` allowed).
    pub names: Vec<String>,
    /// Validity, Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// Chain and signing key (the key was unsealed when the store was loaded).
    pub key: Arc<CertifiedKey>,
}

impl fmt::Debug for CentralCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CentralCert")
            .field("thumbprint", &self.thumbprint)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// What the central store's choice looks at in a certificate: its DNS names and validity.
/// [`CentralCert`] (served) has it; so can a caller's description of store Cluster that
/// holds no key (`explain`), which then gets the very same choice.
pub trait CentralEntry {
    /// The DNS names of its subject alternative names (`*.example.com` allowed).
    fn names(&self) -> &[String];
    /// NotBefore and NotAfter, Unix seconds.
    fn validity(&self) -> (i64, i64);
}

impl CentralEntry for CentralCert {
    fn names(&self) -> &[String] {
        &self.names
    }
    fn validity(&self) -> (i64, i64) {
        (self.not_before, self.not_after)
    }
}

/// The central store by name: built once per change, read per handshake (no I/O).
#[derive(Debug)]
pub struct CentralIndex<C = CentralCert> {
    /// Lower-case name (exact, or `*.suffix`) -> the certificates carrying it.
    by_name: HashMap<String, Vec<Arc<C>>>,
    count: usize,
}

impl<C> Default for CentralIndex<C> {
    fn default() -> Self {
        CentralIndex {
            by_name: HashMap::new(),
            count: 0,
        }
    }
}

impl<C: CentralEntry> CentralIndex<C> {
    /// Indexes `certs` by their DNS names.
    pub fn new(certs: Vec<C>) -> CentralIndex<C> {
        let mut by_name: HashMap<String, Vec<Arc<C>>> = HashMap::new();
        let count = certs.len();
        for c in certs {
            let c = Arc::new(c);
            for n in c.names() {
                let n = n.trim_end_matches('.').to_ascii_lowercase();
                let list = by_name.entry(n).or_default();
                if !list.iter().any(|x| Arc::ptr_eq(x, &c)) {
                    list.push(c.clone());
                }
            }
        }
        CentralIndex { by_name, count }
    }

    /// How many certificates the index holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the index holds no certificate.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The certificate for server name `sni` at Unix time `now`: among those valid then
    /// whose names cover `sni` (exact name, or a wildcard standing for its one leftmost
    /// label), the one with the latest NotBefore (ties: the later NotAfter).
    pub fn pick(&self, sni: &str, now: i64) -> Option<&Arc<C>> {
        let name = sni.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || name.parse::<IpAddr>().is_ok() {
            return None;
        }
        let wildcard = name
            .split_once('.')
            .filter(|(label, rest)| !label.is_empty() && rest.contains('.'))
            .map(|(_, rest)| format!("*.{rest}"));
        let exact = self.by_name.get(&name).into_iter().flatten();
        let wild = wildcard
            .and_then(|w| self.by_name.get(&w))
            .into_iter()
            .flatten();
        exact
            .chain(wild)
            .filter(|c| {
                let (nb, na) = c.validity();
                nb <= now && now < na
            })
            .max_by_key(|c| c.validity())
    }
}

/// The resolver of a central-store binding: the certificate the index holds for SNI now.
struct CentralResolver(Arc<ArcSwap<CentralIndex>>);

impl fmt::Debug for CentralResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CentralResolver")
    }
}

impl ResolvesServerCert for CentralResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = hello.server_name()?;
        self.0.load().pick(sni, unix_now()).map(|c| c.key.clone())
    }
}

/// Seconds since the Unix epoch (the clock, not I/O).
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What an open connection learns about its binding while it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Serving {
    /// The binding stands; `hsts` is its current policy.
    Yes { hsts: bool },
    /// The binding was removed (or lost its certificate): finish gracefully and close.
    Closed,
}

/// One binding's entry: its endpoint, certificate, policy and `ServerConfig`.
pub(crate) struct BindingEntry {
    endpoint: Endpoint,
    thumbprint: String,
    policy: TlsPolicy,
    /// The bound certificate; None for a central-store binding (SNI chooses).
    key: Option<Arc<CertifiedKey>>,
    /// The configuration every handshake on this binding uses (own cache and ticketer).
    pub(crate) config: Arc<ServerConfig>,
    /// Tells the connections of this binding when it goes away. Carried over to the new
    /// entry when the certificate or policy of a standing binding changes.
    pub(crate) serving: Arc<watch::Sender<Serving>>,
}

/// The bindings of one port, by how a connection reaches them.
#[derive(Default)]
struct PortBindings {
    /// `hostnameport`, keyed by lower-case host name.
    by_host: HashMap<String, Arc<BindingEntry>>,
    /// `ipport` with a specific address (canonical: v4-mapped stored as v4).
    by_ip: HashMap<IpAddr, Arc<BindingEntry>>,
    /// `0.0.0.0:port`.
    any_v4: Option<Arc<BindingEntry>>,
    /// `[::]:port`.
    any_v6: Option<Arc<BindingEntry>>,
    /// `ccs:port`.
    ccs: Option<Arc<BindingEntry>>,
}

/// The TLS table of one repository state: built once per change, read per handshake.
#[derive(Default)]
pub(crate) struct TlsTable {
    ports: HashMap<u16, PortBindings>,
    states: Vec<(Endpoint, BindingState)>,
    /// The central store the `ccs` bindings choose from (shared with the listener).
    central: Arc<ArcSwap<CentralIndex>>,
}

/// What building a table changes. Nothing is in effect until [`Pending::commit`] runs,
/// after the table was swapped in.
pub(crate) struct Pending {
    /// What changed, typed by level.
    changes: Vec<Change>,
    /// Bindings that no longer serve: their connections close.
    gone: Vec<Arc<BindingEntry>>,
    /// Standing bindings whose policy changed: their connections learn it.
    updates: Vec<(Arc<watch::Sender<Serving>>, Serving)>,
}

impl Pending {
    /// Tells the open connections of removed bindings to close, and those of changed
    /// bindings their new policy; returns the lines describing the change. Call after the
    /// table is swapped in, so that no new handshake picks a removed binding.
    pub(crate) fn commit(self) -> Vec<Change> {
        for (serving, now) in self.updates {
            serving.send_replace(now);
        }
        for e in self.gone {
            e.serving.send_replace(Serving::Closed);
        }
        self.changes
    }
}

/// The cipher suites a binding may negotiate: AEAD with forward secrecy (TLS 1.3, and
/// TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305), in server preference order.
const ALLOWED_SUITES: [CipherSuite; 9] = [
    CipherSuite::TLS13_AES_256_GCM_SHA384,
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// Sessions each binding remembers for TLS 1.2 session-id resumption.
const SESSION_CACHE_SIZE: usize = 1024;

/// The crypto provider of every binding: aws-lc-rs, restricted to [`ALLOWED_SUITES`].
pub(crate) fn provider() -> Arc<CryptoProvider> {
    let mut p = rustls::crypto::aws_lc_rs::default_provider();
    p.cipher_suites
        .retain(|s| ALLOWED_SUITES.contains(&s.suite()));
    Arc::new(p)
}

/// A certificate resolver that always answers with one binding's certificate: the binding
/// was chosen before the configuration was.
#[derive(Debug)]
struct BindingCert(Arc<CertifiedKey>);

impl ResolvesServerCert for BindingCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A resolver with no certificate: rustls answers the ClientHello with a fatal alert.
#[derive(Debug)]
struct NoCertificate;

impl ResolvesServerCert for NoCertificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        None
    }
}

/// The configuration used when no binding matches: every handshake ends with a fatal
/// `access_denied` alert before any certificate is sent.
pub(crate) fn refusing_config(provider: &Arc<CryptoProvider>) -> Arc<ServerConfig> {
    // Protocol versions of the default provider are always consistent with its suites.
    let mut cfg = match ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    {
        Ok(b) => b
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(NoCertificate)),
        Err(e) => unreachable!("aws-lc-rs supports TLS 1.2 and 1.3: {e}"),
    };
    cfg.send_tls13_tickets = 0;
    Arc::new(cfg)
}

fn binding_config(
    provider: &Arc<CryptoProvider>,
    resolver: Arc<dyn ResolvesServerCert>,
    policy: &TlsPolicy,
) -> Result<Arc<ServerConfig>, String> {
    let versions: &[&'static SupportedProtocolVersion] = match policy.min_tls {
        MinTls::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        MinTls::Tls13 => &[&rustls::version::TLS13],
    };
    let mut cfg = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS configuration refused: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    cfg.ignore_client_order = true;
    cfg.alpn_protocols = if policy.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    cfg.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_SIZE);
    cfg.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()
        .map_err(|e| format!("cannot create a session ticket key: {e}"))?;
    Ok(Arc::new(cfg))
}

/// Loads the certificate of `b` and checks that its key matches (None: a central-store
/// binding, which loads nothing).
fn load(certs: &dyn CertSource, b: &SslBinding) -> Result<Option<Arc<CertifiedKey>>, String> {
    if b.endpoint.is_ccs() {
        return Ok(None);
    }
    let key = certs.certified_key(&b.thumbprint)?;
    match key.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Some(key))
        }
        Err(e) => Err(format!(
            "the private key of certificate {} does not match it ({e}); import the certificate with its own key",
            b.thumbprint
        )),
    }
}

impl TlsTable {
    /// Builds the table for `bindings`, reusing the entries of `old` whose certificate and
    /// policy did not change. Loads every certificate (file I/O): call it off the handshake
    /// path. A binding whose certificate cannot be loaded is left out (its state says why).
    pub(crate) fn build(
        bindings: &[SslBinding],
        certs: &dyn CertSource,
        old: &TlsTable,
        provider: &Arc<CryptoProvider>,
        central: &Arc<ArcSwap<CentralIndex>>,
    ) -> (TlsTable, Pending) {
        let old_entries: HashMap<&Endpoint, &Arc<BindingEntry>> =
            old.entries().map(|e| (&e.endpoint, e)).collect();
        let mut table = TlsTable {
            central: central.clone(),
            ..TlsTable::default()
        };
        let mut changes = Vec::new();
        let mut updates = Vec::new();
        for b in bindings {
            let endpoint = canonical_endpoint(&b.endpoint);
            let previous = old_entries.get(&endpoint).copied();
            let loaded = load(certs, b);
            let entry = match loaded {
                Err(why) => {
                    changes.push(Change::warning(format!(
                        "SSL binding {endpoint} completes no handshake: {why}"
                    )));
                    table
                        .states
                        .push((endpoint, BindingState::CertificateMissing(why)));
                    continue;
                }
                Ok(key) => match previous {
                    Some(p)
                        if p.thumbprint == b.thumbprint
                            && p.policy == b.policy
                            && p.key.as_ref().map(|k| &k.cert) == key.as_ref().map(|k| &k.cert) =>
                    {
                        Arc::clone(p)
                    }
                    _ => match binding_config(
                        provider,
                        match &key {
                            Some(k) => Arc::new(BindingCert(k.clone())),
                            None => Arc::new(CentralResolver(central.clone())),
                        },
                        &b.policy,
                    ) {
                        Err(why) => {
                            changes.push(Change::warning(format!(
                                "SSL binding {endpoint} completes no handshake: {why}"
                            )));
                            table
                                .states
                                .push((endpoint, BindingState::CertificateMissing(why)));
                            continue;
                        }
                        Ok(config) => {
                            let now = Serving::Yes {
                                hsts: b.policy.hsts,
                            };
                            let serving = match previous {
                                // A standing binding with a new certificate or policy: its
                                // open connections stay, with the new HSTS policy.
                                Some(p) => {
                                    updates.push((p.serving.clone(), now));
                                    p.serving.clone()
                                }
                                None => Arc::new(watch::channel(now).0),
                            };
                            changes.push(Change::info(match previous {
                                _ if key.is_none() => format!(
                                    "SSL binding {endpoint} serves the certificates of store Cluster, by SNI"
                                ),
                                Some(_) => format!(
                                    "SSL binding {endpoint} now serves certificate {}",
                                    b.thumbprint
                                ),
                                None => format!(
                                    "SSL binding {endpoint} serves certificate {}",
                                    b.thumbprint
                                ),
                            }));
                            Arc::new(BindingEntry {
                                endpoint: endpoint.clone(),
                                thumbprint: b.thumbprint.clone(),
                                policy: b.policy.clone(),
                                key,
                                config,
                                serving,
                            })
                        }
                    },
                },
            };
            table.states.push((endpoint.clone(), BindingState::Active));
            table.insert(entry);
        }
        let kept: Vec<&Endpoint> = table.entries().map(|e| &e.endpoint).collect();
        let gone: Vec<Arc<BindingEntry>> = old
            .entries()
            .filter(|e| !kept.contains(&&e.endpoint))
            .cloned()
            .collect();
        for e in &gone {
            if !table.states.iter().any(|(ep, _)| *ep == e.endpoint) {
                changes.push(Change::info(format!("SSL binding {} removed", e.endpoint)));
            }
        }
        table.states.sort_by(|a, b| a.0.cmp(&b.0));
        (
            table,
            Pending {
                changes,
                gone,
                updates,
            },
        )
    }

    fn insert(&mut self, e: Arc<BindingEntry>) {
        let port = self.ports.entry(e.endpoint.port()).or_default();
        match &e.endpoint {
            Endpoint::HostnamePort(h, _) => {
                port.by_host.insert(h.clone(), e);
            }
            Endpoint::IpPort(IpAddr::V4(ip), _) if ip.is_unspecified() => port.any_v4 = Some(e),
            Endpoint::IpPort(IpAddr::V6(ip), _) if ip.is_unspecified() => port.any_v6 = Some(e),
            Endpoint::IpPort(ip, _) => {
                port.by_ip.insert(*ip, e);
            }
            Endpoint::Ccs(_) => port.ccs = Some(e),
        }
    }

    fn entries(&self) -> impl Iterator<Item = &Arc<BindingEntry>> {
        self.ports.values().flat_map(|p| {
            p.by_host
                .values()
                .chain(p.by_ip.values())
                .chain(p.any_v4.iter())
                .chain(p.any_v6.iter())
                .chain(p.ccs.iter())
        })
    }

    /// The binding serving a ClientHello that arrived on `local_ip:port` with server name
    /// `sni`: `hostnameport` matching SNI, then `ipport` with the exact local address, then
    /// a central-store binding holding a certificate for SNI, then the unspecified address
    /// of the connection's family, then the other family's.
    pub(crate) fn choose(
        &self,
        port: u16,
        local_ip: IpAddr,
        sni: Option<&str>,
    ) -> Option<&Arc<BindingEntry>> {
        let p = self.ports.get(&port)?;
        if let Some(name) = sni {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if let Some(e) = p.by_host.get(&name) {
                return Some(e);
            }
        }
        let local_ip = local_ip.to_canonical();
        if let Some(e) = p.by_ip.get(&local_ip) {
            return Some(e);
        }
        if let (Some(e), Some(name)) = (&p.ccs, sni)
            && self.central.load().pick(name, unix_now()).is_some()
        {
            return Some(e);
        }
        match local_ip {
            IpAddr::V4(_) => p.any_v4.as_ref().or(p.any_v6.as_ref()),
            IpAddr::V6(_) => p.any_v6.as_ref().or(p.any_v4.as_ref()),
        }
    }

    /// Every binding with whether it serves handshakes, sorted by endpoint.
    pub(crate) fn states(&self) -> Vec<(Endpoint, BindingState)> {
        self.states.clone()
    }
}

/// The endpoint as the table keys it: host names lower-case, v4-mapped addresses as v4.
fn canonical_endpoint(e: &Endpoint) -> Endpoint {
    match e {
        Endpoint::HostnamePort(h, p) => {
            Endpoint::HostnamePort(h.trim_end_matches('.').to_ascii_lowercase(), *p)
        }
        Endpoint::IpPort(ip, p) => Endpoint::IpPort(ip.to_canonical(), *p),
        Endpoint::Ccs(p) => Endpoint::Ccs(*p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_forward_secret_aead_suites() {
        let p = provider();
        let suites: Vec<CipherSuite> = p.cipher_suites.iter().map(|s| s.suite()).collect();
        assert!(!suites.is_empty());
        for s in &suites {
            assert!(ALLOWED_SUITES.contains(s), "{s:?}");
        }
        // The aws-lc-rs defaults are exactly the allowed suites: nothing was filtered away
        // that should have stayed, and the order (server preference) is 1.3 first, AES-256.
        assert_eq!(suites, ALLOWED_SUITES.to_vec());
    }

    fn central(thumb: &str, names: &[&str], not_before: i64, not_after: i64) -> CentralCert {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let c = rcgen::generate_simple_self_signed(vec!["x.test".to_string()]).unwrap();
        let key = CertifiedKey::from_der(
            vec![c.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(c.signing_key.serialize_der().into()),
            &provider,
        )
        .unwrap();
        CentralCert {
            thumbprint: thumb.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
            not_before,
            not_after,
            key: Arc::new(key),
        }
    }

    #[test]
    fn the_central_index_picks_the_newest_valid_certificate_covering_the_name() {
        let index = CentralIndex::new(vec![
            central("OLD", &["reports.example.com"], 100, 10_000),
            central("NEW", &["Reports.Example.com."], 200, 10_000),
            central("FUTURE", &["reports.example.com"], 5_000, 10_000),
            central("EXPIRED", &["reports.example.com"], 300, 400),
            central("WILD", &["*.example.org"], 150, 10_000),
        ]);
        assert_eq!(index.len(), 5);
        let pick = |name: &str, now: i64| index.pick(name, now).map(|c| c.thumbprint.clone());
        // Newest NotBefore among the valid ones; names and SNI case-insensitive, trailing dot.
        assert_eq!(
            pick("REPORTS.example.com.", 350).as_deref(),
            Some("EXPIRED")
        );
        assert_eq!(pick("REPORTS.example.com.", 450).as_deref(), Some("NEW"));
        assert_eq!(pick("reports.example.com", 150).as_deref(), Some("OLD"));
        assert_eq!(
            pick("reports.example.com", 6_000).as_deref(),
            Some("FUTURE")
        );
        assert_eq!(pick("reports.example.com", 20_000), None);
        // A wildcard covers exactly one leftmost label.
        assert_eq!(pick("a.example.org", 500).as_deref(), Some("WILD"));
        assert_eq!(pick("example.org", 500), None);
        assert_eq!(pick("a.b.example.org", 500), None);
        // No match, an IP literal, an empty name: nothing.
        assert_eq!(pick("other.example.com", 500), None);
        assert_eq!(pick("127.0.0.1", 500), None);
        assert_eq!(pick("", 500), None);
    }
}
