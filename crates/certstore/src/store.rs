//! [`CertStore`]: the files of `certs/My` and `certs/Root`, and every operation on them.
//!
//! Readers take no lock: every file is replaced by an atomic rename, and a certificate
//! exists exactly when its `.pem` does (see the crate docs for the write order). Writers
//! take `certs/.lock` (an advisory flock, released if the process dies) around the whole
//! check-then-write sequence, so two `reportctl` processes never interleave. A caller that
//! must check something else atomically with a change (a later issue: "is this certificate
//! bound?") takes `DataDir::lock()` first, then calls in here: the order is always data-dir
//! lock, then store lock.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datadir::{atomic_write, create_private_dir};
use rustls::sign::CertifiedKey;
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::info::{CertInfo, format_time, parse_cert};
use crate::keys::{KeyType, StoredKey, contains_label, looks_like_pem};
use crate::{Error, Result, StoreName, Thumbprint, pfx};

/// Mode of every file in the store: certificates are public, but nothing in a key store
/// needs to be readable by others, and one mode for all leaves no room for a mistake.
pub(crate) const FILE_MODE: u32 = 0o600;
/// Directory of pending request keys.
pub(crate) const REQUEST_DIR: &str = "REQUEST";
/// Longest validity `new-self-signed` accepts, in days (ten years).
const MAX_DAYS: u32 = 3650;

/// The certificate store below one directory (`DataDir::certs_dir()`).
#[derive(Clone, Debug)]
pub struct CertStore {
    root: PathBuf,
}

/// Options of [`CertStore::new_self_signed`] (`reportctl cert new-self-signed`).
#[derive(Clone, Debug)]
pub struct SelfSignedOptions {
    /// DNS names and IP addresses; the first is also the subject CN. At least one.
    pub dns_names: Vec<String>,
    /// Windows-style friendly name.
    pub friendly_name: Option<String>,
    /// Validity in days from now (1 to 3650).
    pub days: u32,
    /// Key algorithm and size.
    pub key_type: KeyType,
    /// Store to put it in (My unless you mean a trust anchor).
    pub store: StoreName,
}

impl SelfSignedOptions {
    /// `dns_names`, valid for 365 days, ECDSA P-256, store My.
    pub fn new(dns_names: Vec<String>) -> Self {
        SelfSignedOptions {
            dns_names,
            friendly_name: None,
            days: 365,
            key_type: KeyType::EcdsaP256,
            store: StoreName::My,
        }
    }
}

/// What an import or `complete` did.
#[derive(Clone, Debug, Serialize)]
pub struct ImportOutcome {
    /// The certificate imported.
    pub thumbprint: Thumbprint,
    /// The store it is in.
    pub store: StoreName,
    /// The certificate was already in that store: nothing changed (unless `key_added`).
    pub already_present: bool,
    /// It was present without a key and the import supplied its key.
    pub key_added: bool,
    /// The store now holds its private key.
    pub has_private_key: bool,
    /// Expired, expiring soon, not yet valid, CA in My, parts of a file not imported.
    pub warnings: Vec<String>,
}

/// Metadata kept beside a certificate (`<THUMB>.json`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    /// When the certificate entered the store, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added: Option<String>,
}

/// The three files of one certificate.
pub(crate) struct EntryPaths {
    pub pem: PathBuf,
    pub key: PathBuf,
    pub json: PathBuf,
}

/// Holds `certs/.lock` until dropped.
pub(crate) struct StoreLock {
    _file: File,
}

impl CertStore {
    /// Opens (creating if needed, mode 0700) the store in `dir` with `My/`, `Root/` and
    /// `REQUEST/` below it.
    pub fn open(dir: &Path) -> Result<Self> {
        create_private_dir(dir)?;
        for sub in [
            StoreName::My.as_str(),
            StoreName::Root.as_str(),
            REQUEST_DIR,
        ] {
            create_private_dir(&dir.join(sub))?;
        }
        Ok(CertStore {
            root: dir.to_owned(),
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    pub(crate) fn store_dir(&self, store: StoreName) -> PathBuf {
        self.root.join(store.as_str())
    }

    pub(crate) fn paths(&self, store: StoreName, thumb: &Thumbprint) -> EntryPaths {
        let dir = self.store_dir(store);
        EntryPaths {
            pem: dir.join(format!("{thumb}.pem")),
            key: dir.join(format!("{thumb}.key")),
            json: dir.join(format!("{thumb}.json")),
        }
    }

    /// Takes the store's mutation lock, blocking until it is free.
    pub(crate) fn lock(&self) -> Result<StoreLock> {
        let path = self.root.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.lock().map_err(|e| Error::io(&path, e))?;
        Ok(StoreLock { _file: file })
    }

    // ----- reading -------------------------------------------------------------------

    /// Every certificate in `store`, sorted by subject then expiry.
    ///
    /// Reads each `.pem` once and the small `.json` beside it; never opens a key file
    /// (whether a key exists is read from the directory listing).
    pub fn list(&self, store: StoreName) -> Result<Vec<CertInfo>> {
        let dir = self.store_dir(store);
        let names: HashSet<String> = fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        let now = OffsetDateTime::now_utc();
        let mut out = Vec::new();
        for name in &names {
            let Some(stem) = name.strip_suffix(".pem") else {
                continue;
            };
            let Ok(thumb) = stem.parse::<Thumbprint>() else {
                continue;
            };
            let has_key = names.contains(&format!("{stem}.key"));
            let meta = if names.contains(&format!("{stem}.json")) {
                read_meta(&dir.join(format!("{stem}.json")))
            } else {
                Meta::default()
            };
            match self.read_leaf(store, &thumb) {
                Ok(Some(der)) => {
                    let mut info =
                        CertInfo::from_der(&der, store, has_key, meta.friendly_name, now)?;
                    if info.thumbprint != thumb {
                        info.warnings.push(format!(
                            "stored as {thumb} but the file holds another certificate (edited by hand?); remove and import it again"
                        ));
                    }
                    out.push(info);
                }
                // Removed between the listing and the read: not there any more.
                Ok(None) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| {
            a.subject
                .cmp(&b.subject)
                .then(a.not_after.cmp(&b.not_after))
                .then(a.thumbprint.cmp(&b.thumbprint))
        });
        Ok(out)
    }

    /// The certificate `thumb` in `store`.
    pub fn get(&self, store: StoreName, thumb: &Thumbprint) -> Result<CertInfo> {
        let paths = self.paths(store, thumb);
        let der = self
            .read_leaf(store, thumb)?
            .ok_or_else(|| not_found(thumb, Some(store)))?;
        let meta = read_meta(&paths.json);
        CertInfo::from_der(
            &der,
            store,
            paths.key.exists(),
            meta.friendly_name,
            OffsetDateTime::now_utc(),
        )
    }

    /// True when `store` holds `thumb`.
    pub fn contains(&self, store: StoreName, thumb: &Thumbprint) -> bool {
        self.paths(store, thumb).pem.exists()
    }

    /// The certificate `thumb`, searched in My then Root.
    pub fn find(&self, thumb: &Thumbprint) -> Result<(StoreName, CertInfo)> {
        for store in StoreName::ALL {
            if self.contains(store, thumb) {
                return Ok((store, self.get(store, thumb)?));
            }
        }
        Err(not_found(thumb, None))
    }

    /// The store to act on: `store` if given (the certificate must be there), else the one
    /// store that holds `thumb` (an error if none or both do).
    pub fn locate(&self, thumb: &Thumbprint, store: Option<StoreName>) -> Result<StoreName> {
        if let Some(s) = store {
            return if self.contains(s, thumb) {
                Ok(s)
            } else {
                Err(not_found(thumb, Some(s)))
            };
        }
        let found: Vec<StoreName> = StoreName::ALL
            .into_iter()
            .filter(|s| self.contains(*s, thumb))
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(not_found(thumb, None)),
            _ => Err(Error::Ambiguous(*thumb)),
        }
    }

    /// The certificate and its stored chain, DER, leaf first.
    pub fn chain_der(
        &self,
        store: StoreName,
        thumb: &Thumbprint,
    ) -> Result<Vec<CertificateDer<'static>>> {
        let path = self.paths(store, thumb).pem;
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(not_found(thumb, Some(store)));
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let blocks = pem::parse_many(&text).map_err(|e| stored_damaged(&path, e))?;
        let certs: Vec<CertificateDer<'static>> = blocks
            .into_iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| CertificateDer::from(b.into_contents()))
            .collect();
        if certs.is_empty() {
            return Err(stored_damaged(&path, "no certificate in the file"));
        }
        Ok(certs)
    }

    /// The leaf's DER, or None if the certificate is not (or no longer) there.
    fn read_leaf(&self, store: StoreName, thumb: &Thumbprint) -> Result<Option<Vec<u8>>> {
        let path = self.paths(store, thumb).pem;
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let block = pem::parse(&text).map_err(|e| stored_damaged(&path, e))?;
        if block.tag() != "CERTIFICATE" {
            return Err(stored_damaged(
                &path,
                "the first PEM block is not a CERTIFICATE",
            ));
        }
        Ok(Some(block.into_contents()))
    }

    /// The stored private key of `thumb` in `store`, if any.
    pub(crate) fn read_key(
        &self,
        store: StoreName,
        thumb: &Thumbprint,
    ) -> Result<Option<StoredKey>> {
        let path = self.paths(store, thumb).key;
        let bytes = match fs::read(&path) {
            Ok(b) => Zeroizing::new(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        StoredKey::from_pem_or_der(&bytes)
            .map(Some)
            .map_err(|e| stored_damaged(&path, e))
    }

    /// The certificate chain and signing key of `thumb` in My, for the TLS listener.
    ///
    /// The chain is the leaf and the intermediates stored with it; a self-signed top
    /// (a root) is left out, since clients must already have it. The key is loaded through
    /// the aws-lc-rs provider and checked against the leaf.
    pub fn certified_key(&self, thumb: &Thumbprint) -> Result<Arc<CertifiedKey>> {
        let store = StoreName::My;
        let chain = self.chain_der(store, thumb)?;
        let key = self
            .read_key(store, thumb)?
            .ok_or(Error::NoPrivateKey(*thumb))?;
        certified(chain, &key, thumb)
    }

    // ----- creating and importing ----------------------------------------------------

    /// Creates a self-signed end-entity certificate (CA:FALSE, EKU serverAuth, a SAN for
    /// every name) and its key, and puts both in `opts.store`.
    pub fn new_self_signed(&self, opts: &SelfSignedOptions) -> Result<Thumbprint> {
        let (der, key) = self_signed_parts(opts)?;
        let outcome = self.install(
            opts.store,
            &der,
            &[],
            Some(&key),
            opts.friendly_name.clone(),
            Vec::new(),
        )?;
        Ok(outcome.thumbprint)
    }

    /// Imports a PFX (PKCS#12) file: its certificate, the matching private key if any, and
    /// the chain certificates it carries. The same certificate in the same store again is
    /// a no-op (`already_present`).
    pub fn import_pfx(
        &self,
        bytes: &[u8],
        password: &str,
        store: StoreName,
    ) -> Result<ImportOutcome> {
        let contents = pfx::read(bytes, password)?;
        self.install(
            store,
            &contents.leaf,
            &contents.chain,
            contents.key.as_ref(),
            contents.friendly_name,
            contents.notes,
        )
    }

    /// Imports a certificate (PEM, possibly followed by its chain, or DER) with an optional
    /// private key (PEM or DER; PKCS#8, PKCS#1 or SEC1). A key found in the certificate
    /// file itself is used when `key` is None.
    pub fn import_pem(
        &self,
        cert: &[u8],
        key: Option<&[u8]>,
        store: StoreName,
    ) -> Result<ImportOutcome> {
        let mut certs = parse_cert_input(cert, "the certificate file")?;
        let leaf = certs.remove(0);
        let (chain, unrelated) = pfx::order_chain(&leaf, certs)?;
        let mut notes = Vec::new();
        if unrelated > 0 {
            notes.push(format!(
                "{unrelated} certificate(s) in the file are not in the certificate's chain and were not imported"
            ));
        }
        let key = match key {
            Some(k) => Some(StoredKey::from_pem_or_der(k)?),
            None if has_key_block(cert) => Some(StoredKey::from_pem_or_der(cert)?),
            None => None,
        };
        self.install(store, &leaf, &chain, key.as_ref(), None, notes)
    }

    /// Puts a parsed certificate (and key) into `store` under the lock.
    pub(crate) fn install(
        &self,
        store: StoreName,
        leaf: &[u8],
        chain: &[Vec<u8>],
        key: Option<&StoredKey>,
        friendly_name: Option<String>,
        notes: Vec<String>,
    ) -> Result<ImportOutcome> {
        let parsed = parse_cert(leaf, "the certificate")?;
        if let Some(k) = key {
            k.check_matches(&parsed)?;
        }
        let thumb = Thumbprint::of_der(leaf);
        let paths = self.paths(store, &thumb);

        let _lock = self.lock()?;
        self.sweep(store)?;
        let now = OffsetDateTime::now_utc();
        let mut outcome = ImportOutcome {
            thumbprint: thumb,
            store,
            already_present: false,
            key_added: false,
            has_private_key: key.is_some(),
            warnings: Vec::new(),
        };
        if paths.pem.exists() {
            outcome.already_present = true;
            let had_key = paths.key.exists();
            if let (Some(k), false) = (key, had_key) {
                atomic_write(&paths.key, k.to_pem().as_bytes(), FILE_MODE)?;
                outcome.key_added = true;
            }
            outcome.has_private_key = had_key || key.is_some();
        } else {
            match key {
                Some(k) => atomic_write(&paths.key, k.to_pem().as_bytes(), FILE_MODE)?,
                None => remove_if_exists(&paths.key)?,
            }
            let meta = Meta {
                friendly_name: friendly_name.filter(|n| !n.trim().is_empty()),
                added: Some(format_time(now)),
            };
            write_meta(&paths.json, &meta)?;
            let mut text = pem_cert(leaf);
            for c in chain {
                text.push_str(&pem_cert(c));
            }
            atomic_write(&paths.pem, text.as_bytes(), FILE_MODE)?;
        }
        let info = CertInfo::from_parsed(leaf, &parsed, store, outcome.has_private_key, None, now);
        outcome.warnings = info.warnings;
        outcome.warnings.extend(notes);
        Ok(outcome)
    }

    /// Sets (or clears, with None) the friendly name of a certificate.
    pub fn set_friendly_name(
        &self,
        store: StoreName,
        thumb: &Thumbprint,
        name: Option<&str>,
    ) -> Result<()> {
        let paths = self.paths(store, thumb);
        let _lock = self.lock()?;
        if !paths.pem.exists() {
            return Err(not_found(thumb, Some(store)));
        }
        let mut meta = read_meta(&paths.json);
        meta.friendly_name = name.map(str::to_owned).filter(|n| !n.trim().is_empty());
        write_meta(&paths.json, &meta)
    }

    // ----- exporting and removing ----------------------------------------------------

    /// A PFX of `thumb` (searched in My then Root) with its key and chain, protected by
    /// `password`: AES-256-CBC/PBKDF2-SHA256 with an HMAC-SHA256 MAC, or with `legacy`
    /// 3DES/SHA-1 with an HMAC-SHA1 MAC for older Windows.
    pub fn export_pfx(
        &self,
        thumb: &Thumbprint,
        password: &str,
        legacy: bool,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (store, info) = self.find(thumb)?;
        let key = self
            .read_key(store, thumb)?
            .ok_or(Error::NoPrivateKey(*thumb))?;
        let chain = self.chain_der(store, thumb)?;
        let (leaf, rest) = chain
            .split_first()
            .ok_or_else(|| not_found(thumb, Some(store)))?;
        let rest: Vec<Vec<u8>> = rest.iter().map(|c| c.to_vec()).collect();
        pfx::write(
            &key,
            leaf,
            &rest,
            info.friendly_name.as_deref(),
            password,
            legacy,
        )
    }

    /// The certificate `thumb` (searched in My then Root) alone, PEM.
    pub fn export_pem(&self, thumb: &Thumbprint) -> Result<String> {
        let (store, _) = self.find(thumb)?;
        let chain = self.chain_der(store, thumb)?;
        // chain_der never returns an empty chain (it is an error instead).
        Ok(pem_cert(&chain[0]))
    }

    /// Deletes `thumb` from `store` with its key and metadata.
    ///
    /// Callers with preconditions (a binding still uses it) check them first, holding the
    /// data-dir lock across the check and this call.
    pub fn remove(&self, thumb: &Thumbprint, store: StoreName) -> Result<()> {
        let paths = self.paths(store, thumb);
        let _lock = self.lock()?;
        if !paths.pem.exists() {
            return Err(not_found(thumb, Some(store)));
        }
        // The .pem first: from this instant the certificate is gone; the rest is cleanup
        // that the next mutation's sweep would also do.
        remove_if_exists(&paths.pem)?;
        remove_if_exists(&paths.key)?;
        remove_if_exists(&paths.json)?;
        Ok(())
    }

    /// Removes what a crash can leave in `store`: a `.key`/`.json` without its `.pem`, and
    /// temporary files of an interrupted atomic write. Called under the lock, so no other
    /// writer is mid-way.
    fn sweep(&self, store: StoreName) -> Result<()> {
        let dir = self.store_dir(store);
        let names: HashSet<String> = fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        for name in &names {
            let orphan = match name.rsplit_once('.') {
                _ if name.starts_with('.') && name.contains(".tmp.") => true,
                Some((stem, "key" | "json")) => !names.contains(&format!("{stem}.pem")),
                _ => false,
            };
            if orphan {
                remove_if_exists(&dir.join(name))?;
            }
        }
        Ok(())
    }
}

/// A self-signed end-entity certificate (DER) for `opts` and its key (the store or the
/// cluster store keeps them).
pub(crate) fn self_signed_parts(opts: &SelfSignedOptions) -> Result<(Vec<u8>, StoredKey)> {
    use rcgen::{
        CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SerialNumber,
    };
    if opts.dns_names.is_empty() {
        return Err(Error::InvalidOption(
            "give at least one --dns-name (a host name or an IP address)".into(),
        ));
    }
    if !(1..=MAX_DAYS).contains(&opts.days) {
        return Err(Error::InvalidOption(format!(
            "--days must be from 1 to {MAX_DAYS}, not {}",
            opts.days
        )));
    }
    // dns_names is not empty (checked above): [0] below cannot panic.
    let sans = crate::request::san_list(&opts.dns_names)?;
    let key_pair = opts.key_type.generate()?;

    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, opts.dns_names[0].trim());
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if matches!(
        opts.key_type,
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096
    ) {
        params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
    }
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = OffsetDateTime::now_utc();
    // A little slack before now, for clients whose clocks run behind.
    params.not_before = now - time::Duration::minutes(10);
    params.not_after = now + time::Duration::days(i64::from(opts.days));
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));

    let cert = params
        .self_signed(&key_pair)
        .map_err(|e| Error::generate("the certificate", e))?;
    let key = StoredKey::from_pkcs8(key_pair.serialized_der())?;
    drop(key_pair);
    Ok((cert.der().to_vec(), key))
}

/// The chain and key as rustls serves them: a self-signed top (a root) is left out, since
/// clients must already have it; the key is loaded through aws-lc-rs and checked against
/// the leaf.
pub(crate) fn certified(
    mut chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    key: &StoredKey,
    thumb: &Thumbprint,
) -> Result<Arc<CertifiedKey>> {
    if chain.len() > 1 {
        let last_is_root = chain.last().is_some_and(|c| {
            parse_cert(c, "a chain certificate")
                .map(|p| p.subject().as_raw() == p.issuer().as_raw())
                .unwrap_or(false)
        });
        if last_is_root {
            chain.pop();
        }
    }
    let refused = |e: rustls::Error| {
        Error::malformed(
            format!("the stored key of {thumb}"),
            format!("rustls refuses it ({e}); import the certificate with its key again"),
        )
    };
    // Borrowed, so the one DER copy handed to aws-lc-rs is wiped when this returns.
    let key_der = Zeroizing::new(key.to_private_key_der());
    let signing_key =
        rustls::crypto::aws_lc_rs::sign::any_supported_type(&key_der).map_err(refused)?;
    let ck = CertifiedKey::new(chain, signing_key);
    ck.keys_match().map_err(refused)?;
    Ok(Arc::new(ck))
}

/// Certificates from a file: PEM (every CERTIFICATE block, in order) or one DER certificate.
pub(crate) fn parse_cert_input(bytes: &[u8], what: &str) -> Result<Vec<Vec<u8>>> {
    if looks_like_pem(bytes) {
        let blocks = pem::parse_many(bytes).map_err(|e| {
            Error::malformed(
                what,
                format!("its PEM does not decode ({e}); the file may be truncated"),
            )
        })?;
        let certs: Vec<Vec<u8>> = blocks
            .into_iter()
            .filter(|b| b.tag() == "CERTIFICATE" || b.tag() == "X509 CERTIFICATE")
            .map(|b| b.into_contents())
            .collect();
        if certs.is_empty() {
            return Err(Error::NoCertificate(what.to_owned()));
        }
        for c in &certs {
            parse_cert(c, what)?;
        }
        return Ok(certs);
    }
    if bytes.is_empty() {
        return Err(Error::malformed(what, "the file is empty"));
    }
    parse_cert(bytes, what)?;
    Ok(vec![bytes.to_vec()])
}

fn has_key_block(bytes: &[u8]) -> bool {
    [
        "PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
    ]
    .iter()
    .any(|l| contains_label(bytes, l))
}

pub(crate) fn pem_cert(der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("CERTIFICATE", der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn read_meta(path: &Path) -> Meta {
    // Metadata is decoration: an unreadable file shows no friendly name rather than
    // hiding the certificate.
    fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_meta(path: &Path, meta: &Meta) -> Result<()> {
    let bytes =
        serde_json::to_vec_pretty(meta).map_err(|e| Error::generate("certificate metadata", e))?;
    atomic_write(path, &bytes, FILE_MODE)?;
    Ok(())
}

pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

pub(crate) fn not_found(thumb: &Thumbprint, store: Option<StoreName>) -> Error {
    Error::NotFound {
        thumbprint: *thumb,
        where_: match store {
            Some(s) => format!("store {s}"),
            None => "the store (My or Root)".into(),
        },
    }
}

fn stored_damaged(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::malformed(
        format!("stored file {}", path.display()),
        format!("{e}; remove the certificate and import it again"),
    )
}

/// A random positive serial number of 16 bytes (RFC 5280: at most 20, positive).
fn random_serial() -> Result<[u8; 16]> {
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial)
        .map_err(|_| Error::generate("a serial number", "no randomness"))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    Ok(serial)
}
