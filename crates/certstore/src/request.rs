//! Certificate requests: `cert request` makes a PKCS#10 CSR whose key waits in
//! `certs/REQUEST/`, and `cert complete` pairs the CA's answer with that key.
//!
//! The answer may be a certificate (PEM or DER), several PEM certificates (leaf and chain),
//! or a PKCS#7 certs-only SignedData (`.p7b`, PEM or DER), as Windows CAs and openssl
//! `crl2pkcs7` produce. It is matched to a pending key by public key, never by name, so an
//! answer for another machine's request is refused.

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::{Decode, Encode};
use rcgen::{CertificateParams, DistinguishedName, DnType, SanType};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::info::{format_time, parse_cert};
use crate::keys::{KeyType, StoredKey, looks_like_pem};
use crate::store::{FILE_MODE, ImportOutcome, REQUEST_DIR, remove_if_exists};
use crate::{CertStore, Error, Result, StoreName, pfx};

/// The PKCS#7 SignedData content type, 1.2.840.113549.1.7.2.
const ID_SIGNED_DATA: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");

/// Options of [`CertStore::request`] (`reportctl cert request`).
#[derive(Clone, Debug)]
pub struct RequestOptions {
    /// DNS names and IP addresses to request as SANs. At least one.
    pub dns_names: Vec<String>,
    /// Subject DN (`CN=host, O=Org, C=US`); default `CN=<first name>`.
    pub subject: Option<String>,
    /// Key algorithm and size.
    pub key_type: KeyType,
    /// Friendly name given to the certificate when the answer is installed.
    pub friendly_name: Option<String>,
}

impl RequestOptions {
    /// A request for `dns_names` with an ECDSA P-256 key and the default subject.
    pub fn new(dns_names: Vec<String>) -> Self {
        RequestOptions {
            dns_names,
            subject: None,
            key_type: KeyType::EcdsaP256,
            friendly_name: None,
        }
    }
}

/// A request whose answer has not been installed yet (`certs/REQUEST/<id>.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingRequest {
    /// Names the request's files: the first 16 hex digits of the SHA-256 of its public key.
    pub id: String,
    /// When the request was made, RFC 3339.
    pub created: String,
    /// The subject DN requested.
    pub subject: String,
    /// The SANs requested.
    pub dns_names: Vec<String>,
    /// "ECDSA P-256", "RSA 2048", ...
    pub key_type: String,
    /// The public key (as in a certificate's SubjectPublicKeyInfo BIT STRING), hex.
    pub public_key: String,
    /// Friendly name for the installed certificate.
    #[serde(default)]
    pub friendly_name: Option<String>,
}

impl CertStore {
    fn request_dir(&self) -> PathBuf {
        self.dir().join(REQUEST_DIR)
    }

    /// Makes a key and a PKCS#10 request for it; keeps the key pending in the store and
    /// returns the request's description and the CSR as PEM.
    pub fn request(&self, opts: &RequestOptions) -> Result<(PendingRequest, String)> {
        if opts.dns_names.is_empty() {
            return Err(Error::InvalidOption(
                "give at least one --dns-name (a host name or an IP address)".into(),
            ));
        }
        // dns_names is not empty (checked above): [0] below cannot panic.
        let mut params = CertificateParams::default();
        params.subject_alt_names = san_list(&opts.dns_names)?;
        params.distinguished_name = match opts.subject.as_deref() {
            Some(s) => parse_dn(s)?,
            None => {
                let mut dn = DistinguishedName::new();
                dn.push(DnType::CommonName, opts.dns_names[0].trim());
                dn
            }
        };
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key_pair = opts.key_type.generate()?;
        let csr = params
            .serialize_request(&key_pair)
            .map_err(|e| Error::generate("the certificate request", e))?;
        let csr_pem = csr
            .pem()
            .map_err(|e| Error::generate("the certificate request", e))?;
        let key = StoredKey::from_pkcs8(key_pair.serialized_der())?;
        drop(key_pair);

        let digest = Sha256::digest(&key.public_key);
        let pending = PendingRequest {
            id: hex::encode_upper(&digest[..8]),
            created: format_time(OffsetDateTime::now_utc()),
            subject: opts
                .subject
                .clone()
                .unwrap_or_else(|| format!("CN={}", opts.dns_names[0].trim())),
            dns_names: opts.dns_names.iter().map(|n| n.trim().to_owned()).collect(),
            key_type: key.description.clone(),
            public_key: hex::encode(&key.public_key),
            friendly_name: opts.friendly_name.clone(),
        };
        let dir = self.request_dir();
        let _lock = self.lock()?;
        // The key first, the description last: a request is pending when its .json exists.
        datadir::atomic_write(
            &dir.join(format!("{}.key", pending.id)),
            key.to_pem().as_bytes(),
            FILE_MODE,
        )?;
        let json = serde_json::to_vec_pretty(&pending)
            .map_err(|e| Error::generate("the request description", e))?;
        datadir::atomic_write(&dir.join(format!("{}.json", pending.id)), &json, FILE_MODE)?;
        Ok((pending, csr_pem))
    }

    /// The requests waiting for an answer, oldest first.
    pub fn pending_requests(&self) -> Result<Vec<PendingRequest>> {
        let dir = self.request_dir();
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let Ok(bytes) = fs::read(&path) else { continue };
            if let Ok(p) = serde_json::from_slice::<PendingRequest>(&bytes) {
                out.push(p);
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Installs a CA's answer into My with the pending key whose public key it carries,
    /// and the chain certificates that came with it. The request is then no longer pending.
    pub fn complete(&self, response: &[u8]) -> Result<ImportOutcome> {
        let certs = parse_response(response)?;
        let pending = self.pending_requests()?;
        let mut matched = None;
        'outer: for (i, der) in certs.iter().enumerate() {
            let cert = parse_cert(der, "a certificate in the response")?;
            let spk = hex::encode(cert.public_key().subject_public_key.data.as_ref());
            for p in &pending {
                if p.public_key == spk {
                    matched = Some((i, p.clone()));
                    break 'outer;
                }
            }
        }
        let (index, request) = matched.ok_or(Error::NoMatchingRequest)?;
        let dir = self.request_dir();
        let key_path = dir.join(format!("{}.key", request.id));
        let key_bytes = Zeroizing::new(fs::read(&key_path).map_err(|e| Error::io(&key_path, e))?);
        let key = StoredKey::from_pem_or_der(&key_bytes)?;

        let mut others = certs;
        let leaf = others.remove(index);
        let (chain, unrelated) = pfx::order_chain(&leaf, others)?;
        let mut notes = Vec::new();
        if unrelated > 0 {
            notes.push(format!(
                "{unrelated} certificate(s) in the response are not in the certificate's chain and were not installed"
            ));
        }
        let outcome = self.install(
            StoreName::My,
            &leaf,
            &chain,
            Some(&key),
            request.friendly_name.clone(),
            notes,
        )?;
        let _lock = self.lock()?;
        remove_if_exists(&dir.join(format!("{}.json", request.id)))?;
        remove_if_exists(&key_path)?;
        Ok(outcome)
    }
}

/// The certificates of a CA's answer: PEM certificates and/or PKCS#7, or one DER
/// certificate, or a DER PKCS#7.
pub(crate) fn parse_response(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    const WHAT: &str = "the response";
    let mut certs = Vec::new();
    if looks_like_pem(bytes) {
        let blocks = pem::parse_many(bytes).map_err(|e| {
            Error::malformed(
                WHAT,
                format!("its PEM does not decode ({e}); the file may be truncated"),
            )
        })?;
        for b in blocks {
            match b.tag() {
                "CERTIFICATE" | "X509 CERTIFICATE" => {
                    parse_cert(b.contents(), WHAT)?;
                    certs.push(b.into_contents());
                }
                "PKCS7" | "CMS" => certs.extend(pkcs7_certs(b.contents())?),
                _ => {}
            }
        }
    } else if bytes.is_empty() {
        return Err(Error::malformed(WHAT, "the file is empty"));
    } else if parse_cert(bytes, WHAT).is_ok() {
        certs.push(bytes.to_vec());
    } else {
        certs = pkcs7_certs(bytes).map_err(|_| {
            Error::malformed(
                WHAT,
                "it is neither a certificate (PEM or DER) nor a PKCS#7 (.p7b) file; the file may be truncated",
            )
        })?;
    }
    if certs.is_empty() {
        return Err(Error::NoCertificate(WHAT.into()));
    }
    Ok(certs)
}

/// The certificates of a PKCS#7 SignedData (a `.p7b` "certs-only" message).
fn pkcs7_certs(der: &[u8]) -> Result<Vec<Vec<u8>>> {
    let bad = |e: der::Error| {
        Error::malformed(
            "the PKCS#7 response",
            format!("{e}; the file may be truncated"),
        )
    };
    let ci = ContentInfo::from_der(der).map_err(bad)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(Error::malformed(
            "the PKCS#7 response",
            format!(
                "content type {} is not SignedData; export the answer as a .p7b with certificates",
                ci.content_type
            ),
        ));
    }
    let sd = SignedData::from_der(&ci.content.to_der().map_err(bad)?).map_err(bad)?;
    let mut out = Vec::new();
    if let Some(set) = sd.certificates {
        for choice in set.0.iter() {
            if let CertificateChoices::Certificate(c) = choice {
                out.push(c.to_der().map_err(bad)?);
            }
        }
    }
    Ok(out)
}

/// Subject alternative names from `--dns-name` values: IP addresses become IP SANs, the
/// rest must be DNS names (letters, digits, hyphens, dots; a leading `*.` wildcard).
pub(crate) fn san_list(names: &[String]) -> Result<Vec<SanType>> {
    let mut out = Vec::new();
    for raw in names {
        let name = raw.trim();
        let bare = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        let san = if let Ok(ip) = bare.parse::<IpAddr>() {
            SanType::IpAddress(ip)
        } else {
            validate_dns_name(name)?;
            let ia5 = name
                .to_ascii_lowercase()
                .try_into()
                .map_err(|_| invalid_name(name, "not ASCII"))?;
            SanType::DnsName(ia5)
        };
        if !out.contains(&san) {
            out.push(san);
        }
    }
    Ok(out)
}

fn invalid_name(name: &str, why: &str) -> Error {
    Error::InvalidOption(format!(
        "invalid --dns-name {name:?}: {why}; give a host name (e.g. reports.example.com, *.example.com, localhost) or an IP address; internationalized names in their xn-- form"
    ))
}

fn validate_dns_name(name: &str) -> Result<()> {
    let host = name.strip_suffix('.').unwrap_or(name);
    if host.is_empty() {
        return Err(invalid_name(name, "empty"));
    }
    if host.len() > 253 {
        return Err(invalid_name(name, "longer than 253 characters"));
    }
    let rest = match host.strip_prefix("*.") {
        Some(r) if r.contains('.') => r,
        Some(_) => {
            return Err(invalid_name(
                name,
                "a wildcard needs at least two labels after it (*.example.com)",
            ));
        }
        None => host,
    };
    for label in rest.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(invalid_name(
                name,
                "each label must have 1 to 63 characters",
            ));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(invalid_name(
                name,
                "only letters, digits, hyphens and dots are allowed (a * only as the whole leftmost label)",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid_name(
                name,
                "a label cannot start or end with a hyphen",
            ));
        }
    }
    Ok(())
}

/// Parses `CN=host, O=Org, OU=Unit, L=City, ST=State, C=US` (RFC 4514 order or not; a
/// comma inside a value is written `\,`).
pub(crate) fn parse_dn(s: &str) -> Result<DistinguishedName> {
    let bad = |why: String| {
        Error::InvalidOption(format!(
            "invalid --subject {s:?}: {why}; write it as CN=host,O=Organization,OU=Unit,L=City,ST=State,C=US"
        ))
    };
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => cur.push(n),
                None => return Err(bad("it ends with a lone backslash".into())),
            },
            ',' | ';' => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    let mut dn = DistinguishedName::new();
    let mut any = false;
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("{part:?} has no '='")))?;
        let v = v.trim();
        if v.is_empty() {
            return Err(bad(format!("{k} has an empty value")));
        }
        let ty = match k.trim().to_ascii_uppercase().as_str() {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "L" => DnType::LocalityName,
            "ST" | "S" => DnType::StateOrProvinceName,
            "C" => {
                if v.len() != 2 || !v.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(bad(format!(
                        "C must be a two-letter country code, not {v:?}"
                    )));
                }
                DnType::CountryName
            }
            other => {
                return Err(bad(format!(
                    "unknown attribute {other:?} (known: CN, O, OU, L, ST, C)"
                )));
            }
        };
        dn.push(ty, v);
        any = true;
    }
    if !any {
        return Err(bad("it is empty".into()));
    }
    Ok(dn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_accept_names_and_ips_and_reject_junk() {
        let sans = san_list(&[
            "localhost".into(),
            "127.0.0.1".into(),
            "::1".into(),
            "*.Example.com".into(),
        ])
        .unwrap();
        assert_eq!(sans.len(), 4);
        assert!(matches!(sans[1], SanType::IpAddress(_)));
        for bad in [
            "a b",
            "-x.com",
            "*.com",
            "x..y",
            "a*.example.com",
            "",
            "exa_mple.com",
        ] {
            let e = san_list(&[bad.into()]).unwrap_err().to_string();
            assert!(e.contains("--dns-name"), "{bad}: {e}");
        }
    }

    #[test]
    fn subjects_parse() {
        let dn = parse_dn("CN=reports.example.com, O=Example\\, Inc., C=US").unwrap();
        assert_eq!(dn.iter().count(), 3);
        assert!(
            parse_dn("CN=x, X=y")
                .unwrap_err()
                .to_string()
                .contains("unknown attribute")
        );
        assert!(
            parse_dn("C=USA")
                .unwrap_err()
                .to_string()
                .contains("two-letter")
        );
        assert!(parse_dn("").is_err());
    }
}
