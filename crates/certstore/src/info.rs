//! [`CertInfo`]: what `cert list` and `cert show` print and what the SSL binding checks ask
//! (server authentication, host names covered).
//!
//! Pure: parses DER with x509-parser and reads the clock it is given; no I/O.

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::{EXPIRY_WARNING_DAYS, Error, Result, StoreName, Thumbprint};

/// A subject alternative name the certificate is valid for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum San {
    /// A DNS name, possibly a wildcard (`*.example.com`).
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(d) => write!(f, "DNS:{d}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

/// Serialized as openssl prints it: `"DNS:localhost"`, `"IP:127.0.0.1"`.
impl Serialize for San {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A certificate as `cert list`/`cert show` describe it (`--json` serializes this).
#[derive(Clone, Debug, Serialize)]
pub struct CertInfo {
    /// SHA-1 of the DER: the certificate's name.
    pub thumbprint: Thumbprint,
    /// SHA-256 of the DER, 64 upper-case hex digits.
    pub sha256: String,
    /// Subject DN as `CN=..., O=...`.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// DNS and IP subject alternative names.
    pub sans: Vec<San>,
    /// Start of validity, RFC 3339.
    #[serde(serialize_with = "rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity, RFC 3339.
    #[serde(serialize_with = "rfc3339")]
    pub not_after: OffsetDateTime,
    /// "ECDSA P-256", "RSA 2048", "Ed25519", ...
    pub key_type: String,
    /// The store holds the private key.
    pub has_private_key: bool,
    /// Usable as a TLS server certificate: EKU serverAuth (or no EKU) and not a CA.
    pub server_auth: bool,
    /// basicConstraints CA:TRUE.
    pub is_ca: bool,
    /// Issuer equals subject (a root or a self-signed leaf).
    pub self_signed: bool,
    /// Windows-style friendly name, if one was given.
    pub friendly_name: Option<String>,
    /// The store the certificate is in.
    pub store: StoreName,
    /// Expired, expiring soon, not yet valid, CA in My.
    pub warnings: Vec<String>,
}

fn rfc3339<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_time(*t))
}

/// RFC 3339 in UTC (`2026-01-02T03:04:05Z`).
pub(crate) fn format_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl CertInfo {
    /// Describes the DER certificate `der` as it sits in `store`.
    pub fn from_der(
        der: &[u8],
        store: StoreName,
        has_private_key: bool,
        friendly_name: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let cert = parse_cert(der, "the certificate")?;
        Ok(Self::from_parsed(
            der,
            &cert,
            store,
            has_private_key,
            friendly_name,
            now,
        ))
    }

    pub(crate) fn from_parsed(
        der: &[u8],
        cert: &X509Certificate<'_>,
        store: StoreName,
        has_private_key: bool,
        friendly_name: Option<String>,
        now: OffsetDateTime,
    ) -> Self {
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                match name {
                    GeneralName::DNSName(d) => sans.push(San::Dns((*d).to_owned())),
                    GeneralName::IPAddress(b) => {
                        if let Some(ip) = ip_from_bytes(b) {
                            sans.push(San::Ip(ip));
                        }
                    }
                    _ => {}
                }
            }
        }
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca);
        let eku_ok = match cert.extended_key_usage() {
            Ok(Some(eku)) => eku.value.server_auth || eku.value.any,
            Ok(None) => true,
            Err(_) => false,
        };
        let not_before = cert.validity().not_before.to_datetime();
        let not_after = cert.validity().not_after.to_datetime();
        let subject = cert.subject().to_string();
        let issuer = cert.issuer().to_string();

        let mut warnings = Vec::new();
        if now > not_after {
            warnings.push(format!("expired on {}", format_time(not_after)));
        } else if now < not_before {
            warnings.push(format!(
                "not yet valid (valid from {})",
                format_time(not_before)
            ));
        } else if not_after - now < time::Duration::days(EXPIRY_WARNING_DAYS) {
            warnings.push(format!(
                "expires within {EXPIRY_WARNING_DAYS} days (on {})",
                format_time(not_after)
            ));
        }
        if is_ca && store == StoreName::My {
            warnings.push(
                "CA certificate in My: a CA certificate cannot serve as a server certificate; import it into Root".into(),
            );
        }

        CertInfo {
            thumbprint: Thumbprint::of_der(der),
            sha256: hex::encode_upper(Sha256::digest(der)),
            self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
            subject,
            issuer,
            sans,
            not_before,
            not_after,
            key_type: key_type_of(cert),
            has_private_key,
            server_auth: eku_ok && !is_ca,
            is_ca,
            friendly_name,
            store,
            warnings,
        }
    }

    /// True when a SAN covers `host`: an IP SAN equal to an IP host, or a DNS SAN equal to
    /// the name (case-insensitive, trailing dot ignored), or a wildcard `*.example.com`
    /// covering exactly one more leftmost label (RFC 6125 §6.4.3: `a.example.com`, not
    /// `example.com` nor `a.b.example.com`). The subject CN is not consulted (RFC 6125,
    /// and browsers, ignore it when SANs exist; reportd always puts SANs).
    pub fn covers_host(&self, host: &str) -> bool {
        let host = host.trim();
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self.sans.iter().any(|s| match s {
                San::Ip(i) => normalize_ip(*i) == normalize_ip(ip),
                San::Dns(_) => false,
            });
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() {
            return false;
        }
        self.sans.iter().any(|s| match s {
            San::Dns(d) => dns_matches(&d.trim_end_matches('.').to_ascii_lowercase(), &host),
            San::Ip(_) => false,
        })
    }

    /// The DNS and IP names, comma-separated, for one-line displays.
    pub fn sans_text(&self) -> String {
        self.sans
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `cert show`'s lines: one `Field: value` a line.
    pub fn show_lines(&self) -> Vec<String> {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut lines = vec![
            format!("Thumbprint: {}", self.thumbprint),
            format!("SHA-256: {}", self.sha256),
            format!("Store: {}", self.store),
            format!("Subject: {}", self.subject),
            format!("Subject alternative names: {}", self.sans_text()),
            format!("Issuer: {}", self.issuer),
            format!("Not before: {}", format_time(self.not_before)),
            format!("Not after: {}", format_time(self.not_after)),
            format!("Key type: {}", self.key_type),
            format!("Private key: {}", yes_no(self.has_private_key)),
            format!("Server authentication: {}", yes_no(self.server_auth)),
            format!("CA: {}", yes_no(self.is_ca)),
            format!(
                "Friendly name: {}",
                self.friendly_name.as_deref().unwrap_or("")
            ),
        ];
        for w in &self.warnings {
            lines.push(format!("Warning: {w}"));
        }
        lines
    }
}

fn dns_matches(pattern: &str, host: &str) -> bool {
    if let Some(suffix) = pattern.strip_prefix("*.") {
        // The wildcard stands for exactly one non-empty label, and only leftmost; a
        // wildcard over a single label ("*.com") matches nothing.
        if !suffix.contains('.') || suffix.contains('*') {
            return false;
        }
        match host.split_once('.') {
            Some((label, rest)) => !label.is_empty() && rest == suffix,
            None => false,
        }
    } else {
        !pattern.contains('*') && pattern == host
    }
}

fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

fn key_type_of(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let alg = &spki.algorithm.algorithm;
    if *alg == OID_PKCS1_RSAENCRYPTION {
        return match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
            _ => "RSA (unreadable key)".into(),
        };
    }
    if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if c == OID_EC_P256 => "ECDSA P-256".into(),
            Some(c) if c == OID_NIST_EC_P384 => "ECDSA P-384".into(),
            Some(c) if c == OID_NIST_EC_P521 => "ECDSA P-521".into(),
            Some(c) => format!("EC ({c})"),
            None => "EC (unknown curve)".into(),
        };
    }
    if *alg == OID_SIG_ED25519 {
        return "Ed25519".into();
    }
    format!("unknown ({alg})")
}

/// Parses one DER certificate, requiring that nothing follows it.
pub(crate) fn parse_cert<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(Error::malformed(
            what,
            "trailing bytes after the certificate (damaged file?)",
        )),
        Err(_) => Err(Error::malformed(
            what,
            "not an X.509 certificate in PEM or DER form; the file may be truncated or of another kind",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info_with(sans: Vec<San>) -> CertInfo {
        let key = crate::KeyType::EcdsaP256.generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["x.test".to_string()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let mut info = CertInfo::from_der(
            cert.der(),
            StoreName::My,
            false,
            None,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
        info.sans = sans;
        info
    }

    #[test]
    fn wildcards_cover_exactly_one_label() {
        let info = info_with(vec![San::Dns("*.example.com".into())]);
        assert!(info.covers_host("a.example.com"));
        assert!(info.covers_host("A.Example.COM."));
        assert!(!info.covers_host("example.com"));
        assert!(!info.covers_host("a.b.example.com"));
        assert!(!info.covers_host(".example.com"));
        assert!(!info.covers_host("aexample.com"));
    }

    #[test]
    fn exact_names_and_ips() {
        let info = info_with(vec![
            San::Dns("Host.Example".into()),
            San::Ip("127.0.0.1".parse().unwrap()),
            San::Ip("::1".parse().unwrap()),
        ]);
        assert!(info.covers_host("host.example"));
        assert!(!info.covers_host("other.example"));
        assert!(info.covers_host("127.0.0.1"));
        assert!(info.covers_host("[::1]"));
        assert!(!info.covers_host("127.0.0.2"));
        assert!(!info.covers_host("*.example"));
        // an IP host is not matched against DNS names that spell it
        let dns_ip = info_with(vec![San::Dns("10.0.0.1".into())]);
        assert!(!dns_ip.covers_host("10.0.0.1"));
    }

    #[test]
    fn wildcard_over_a_single_label_matches_nothing() {
        let info = info_with(vec![San::Dns("*.com".into())]);
        assert!(!info.covers_host("example.com"));
    }
}
