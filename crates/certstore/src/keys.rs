//! Private keys: generation, parsing of PKCS#8, PKCS#1 and SEC1, normalization to PKCS#8
//! for storage, and the check that a key belongs to a certificate.
//!
//! aws-lc-rs does the parsing and re-encoding (it is already the TLS provider, so a key that
//! loads here loads in the listener). Key bytes live in [`Zeroizing`] buffers; nothing here
//! formats a key into an error or a log line.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING,
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use x509_parser::prelude::X509Certificate;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// A key algorithm and size that reportd generates and serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// ECDSA on NIST P-256 with SHA-256: small, fast, understood by every current client.
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcdsaP384,
    /// RSA 2048 bits: for clients that know no ECDSA.
    Rsa2048,
    /// RSA 3072 bits.
    Rsa3072,
    /// RSA 4096 bits.
    Rsa4096,
}

impl KeyType {
    /// Every key type, in the order `--help` lists them.
    pub const ALL: [KeyType; 5] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// The command-line spelling (`ecdsa-p256`, `rsa-2048`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }

    /// Generates a fresh key pair of this type.
    pub(crate) fn generate(self) -> Result<rcgen::KeyPair> {
        use rcgen::{PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, RsaKeySize};
        let kp = match self {
            KeyType::EcdsaP256 => rcgen::KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
            KeyType::EcdsaP384 => rcgen::KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384),
            KeyType::Rsa2048 => {
                rcgen::KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
            }
            KeyType::Rsa3072 => {
                rcgen::KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_3072)
            }
            KeyType::Rsa4096 => {
                rcgen::KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_4096)
            }
        };
        kp.map_err(|e| Error::generate("a key pair", e))
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        KeyType::ALL
            .into_iter()
            .find(|k| k.as_str() == norm)
            .ok_or_else(|| {
                let all: Vec<_> = KeyType::ALL.iter().map(|k| k.as_str()).collect();
                Error::InvalidOption(format!(
                    "unknown key type {s:?}; use one of {}",
                    all.join(", ")
                ))
            })
    }
}

/// A private key checked to be of a supported type, re-encoded as PKCS#8.
pub(crate) struct StoredKey {
    /// PKCS#8 DER of the private key; zeroized on drop.
    pub pkcs8: Zeroizing<Vec<u8>>,
    /// The public key as it appears in a certificate's SubjectPublicKeyInfo BIT STRING
    /// (RSAPublicKey DER for RSA, the uncompressed point for ECDSA).
    pub public_key: Vec<u8>,
    /// "RSA 2048", "ECDSA P-256", ...
    pub description: String,
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredKey")
            .field("description", &self.description)
            .field("pkcs8", &"<redacted>")
            .finish()
    }
}

impl StoredKey {
    /// Checks and normalizes a key in any of the three DER encodings.
    pub fn from_der(key: &PrivateKeyDer<'_>) -> Result<Self> {
        match key {
            PrivateKeyDer::Pkcs1(k) => {
                let kp = RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(rsa_rejected)?;
                Self::from_rsa(&kp)
            }
            PrivateKeyDer::Sec1(k) => Self::from_ec(k.secret_sec1_der()),
            PrivateKeyDer::Pkcs8(k) => {
                let der = k.secret_pkcs8_der();
                if let Ok(kp) = RsaKeyPair::from_pkcs8(der) {
                    return Self::from_rsa(&kp);
                }
                if let Ok(key) = Self::from_ec(der) {
                    return Ok(key);
                }
                Err(unsupported_pkcs8(der))
            }
            _ => Err(Error::UnsupportedKeyType("(unknown key encoding)".into())),
        }
    }

    /// A PKCS#8 DER key as read from the store or a PFX.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        Self::from_der(&PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)))
    }

    /// Parses the first private key of a PEM text (`PRIVATE KEY`, `RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY`), or DER when the bytes are not PEM.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self> {
        if looks_like_pem(bytes) {
            if contains_label(bytes, "ENCRYPTED PRIVATE KEY") {
                return Err(Error::malformed(
                    "the private key",
                    "it is encrypted; decrypt it first (`openssl pkey -in KEY -out PLAIN.key`) or import a PFX instead",
                ));
            }
            let key = PrivateKeyDer::from_pem_slice(bytes).map_err(|_| {
                Error::malformed(
                    "the private key",
                    "no PEM block PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY found; give a PKCS#8, PKCS#1 or SEC1 key",
                )
            })?;
            let key = Zeroizing::new(key);
            return Self::from_der(&key);
        }
        // DER: PKCS#8 is the common form; PKCS#1 and SEC1 are tried after it.
        if let Ok(k) = Self::from_der(&PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(bytes))) {
            return Ok(k);
        }
        if let Ok(kp) = RsaKeyPair::from_der(bytes) {
            return Self::from_rsa(&kp);
        }
        if let Ok(k) = Self::from_ec(bytes) {
            return Ok(k);
        }
        Err(Error::malformed(
            "the private key",
            "it is neither PEM nor a DER PKCS#8, PKCS#1 or SEC1 key (truncated or not a key file?)",
        ))
    }

    fn from_rsa(kp: &RsaKeyPair) -> Result<Self> {
        let bits = kp.public_modulus_len() * 8;
        if !(2048..=4096).contains(&bits) {
            return Err(Error::UnsupportedKeyType(format!("RSA {bits}")));
        }
        let pkcs8 = kp
            .as_der()
            .map_err(|_| Error::malformed("the private key", "the RSA key cannot be re-encoded"))?;
        Ok(StoredKey {
            pkcs8: Zeroizing::new(pkcs8.as_ref().to_vec()),
            public_key: kp.public_key().as_ref().to_vec(),
            description: format!("RSA {bits}"),
        })
    }

    fn from_ec(der: &[u8]) -> Result<Self> {
        for (alg, name) in [
            (&ECDSA_P256_SHA256_ASN1_SIGNING, "ECDSA P-256"),
            (&ECDSA_P384_SHA384_ASN1_SIGNING, "ECDSA P-384"),
        ] {
            if let Ok(kp) = EcdsaKeyPair::from_private_key_der(alg, der) {
                let pkcs8 = kp.to_pkcs8v1().map_err(|_| {
                    Error::malformed("the private key", "the EC key cannot be re-encoded")
                })?;
                return Ok(StoredKey {
                    pkcs8: Zeroizing::new(pkcs8.as_ref().to_vec()),
                    public_key: kp.public_key().as_ref().to_vec(),
                    description: name.to_owned(),
                });
            }
        }
        if EcdsaKeyPair::from_private_key_der(&ECDSA_P521_SHA512_ASN1_SIGNING, der).is_ok() {
            return Err(Error::UnsupportedKeyType("ECDSA P-521".into()));
        }
        Err(Error::malformed(
            "the private key",
            "not a valid EC key on P-256 or P-384",
        ))
    }

    /// Fails unless this key's public key is the certificate's.
    pub fn check_matches(&self, cert: &X509Certificate<'_>) -> Result<()> {
        if cert.public_key().subject_public_key.data.as_ref() == self.public_key.as_slice() {
            Ok(())
        } else {
            Err(Error::KeyMismatch)
        }
    }

    /// The key as PKCS#8 PEM text, zeroized on drop.
    pub fn to_pem(&self) -> Zeroizing<String> {
        let block = pem::Pem::new("PRIVATE KEY", self.pkcs8.to_vec());
        let text = Zeroizing::new(pem::encode(&block));
        // The Pem holds a copy of the key: take it back out and wipe it.
        drop(Zeroizing::new(block.into_contents()));
        text
    }

    /// The key for rustls / rcgen.
    pub fn to_private_key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.pkcs8.to_vec()))
    }
}

fn rsa_rejected(e: aws_lc_rs::error::KeyRejected) -> Error {
    match e.description_() {
        "TooSmall" => Error::UnsupportedKeyType("RSA smaller than 2048 bits".into()),
        "TooLarge" => Error::UnsupportedKeyType("RSA larger than 8192 bits".into()),
        _ => Error::malformed("the private key", "not a valid RSA key"),
    }
}

/// Names the algorithm of a PKCS#8 key that is neither a supported RSA nor ECDSA key.
fn unsupported_pkcs8(der: &[u8]) -> Error {
    if Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).is_ok() {
        return Error::UnsupportedKeyType("Ed25519".into());
    }
    if EcdsaKeyPair::from_pkcs8(&ECDSA_P521_SHA512_ASN1_SIGNING, der).is_ok() {
        return Error::UnsupportedKeyType("ECDSA P-521".into());
    }
    if let Err(e) = RsaKeyPair::from_pkcs8(der)
        && matches!(e.description_(), "TooSmall" | "TooLarge")
    {
        return rsa_rejected(e);
    }
    Error::UnsupportedKeyType(
        "(not RSA or ECDSA; DSA, Ed448 and others are not served), or the key is damaged".into(),
    )
}

pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    contains_label(bytes, "")
}

/// True when `bytes` contain `-----BEGIN <label>` (any label when `label` is empty).
pub(crate) fn contains_label(bytes: &[u8], label: &str) -> bool {
    let needle = format!("-----BEGIN {label}");
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_types_parse_and_display() {
        for k in KeyType::ALL {
            assert_eq!(k.as_str().parse::<KeyType>().unwrap(), k);
        }
        assert_eq!("RSA_2048".parse::<KeyType>().unwrap(), KeyType::Rsa2048);
        let e = "dsa".parse::<KeyType>().unwrap_err().to_string();
        assert!(e.contains("ecdsa-p256"), "{e}");
    }

    #[test]
    fn generated_keys_normalize_to_pkcs8() {
        let kp = KeyType::EcdsaP256.generate().unwrap();
        let key = StoredKey::from_pkcs8(kp.serialized_der()).unwrap();
        assert_eq!(key.description, "ECDSA P-256");
        assert_eq!(key.public_key, kp.public_key_raw());
        let pem = key.to_pem();
        let again = StoredKey::from_pem_or_der(pem.as_bytes()).unwrap();
        assert_eq!(again.public_key, key.public_key);
        assert!(!format!("{key:?}").contains(&hex::encode(&key.pkcs8[..])));
    }
}
