//! PKCS#12 (PFX) files: reading what openssl (default and `-legacy`) and Windows write, and
//! writing files that `openssl pkcs12` and Windows import.
//!
//! p12-keystore does the PKCS#12 work: PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC, HMAC-SHA256
//! MAC) for new files, and with its default `pbes1` feature the legacy PBES1 schemes
//! (pbeWithSHAAnd3-KeyTripleDES-CBC, pbeWithSHAAnd40BitRC2-CBC, HMAC-SHA1 MAC) that
//! `openssl pkcs12 -legacy` and older Windows use. This module decides what the bags mean:
//! which key goes with which certificate (by public key, not by localKeyId, which Windows
//! and openssl fill differently), which certificates form the chain, and the friendly name.
//!
//! p12-keystore keeps decrypted keys in plain `Vec`s that are not wiped on drop; we copy
//! them into [`Zeroizing`] buffers at once and drop the library's values at the end of the
//! call. That residue is a limitation of the library, noted here rather than hidden.

use p12_keystore::error::Error as P12Error;
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, Pkcs12Archive,
    PrivateKey, PrivateKeyChain,
};
use zeroize::Zeroizing;

use crate::info::parse_cert;
use crate::keys::StoredKey;
use crate::{Error, Result, Thumbprint};

/// Iterations of the key derivation for new AES files (openssl's default is 2048).
const AES_ITERATIONS: u32 = 10_000;
/// Iterations for legacy files: what Windows uses for its TripleDES-SHA1 exports.
const LEGACY_ITERATIONS: u32 = 2_000;

/// What a PFX file holds, interpreted.
pub(crate) struct PfxContents {
    /// The end-entity certificate (DER).
    pub leaf: Vec<u8>,
    /// Its private key, checked to match the leaf.
    pub key: Option<StoredKey>,
    /// The other certificates, issuer order from the leaf up where they chain.
    pub chain: Vec<Vec<u8>>,
    /// Friendly name from the key or certificate bag, if meaningful.
    pub friendly_name: Option<String>,
    /// Notes for the user (extra keys skipped...).
    pub notes: Vec<String>,
}

/// Decrypts and interprets a PFX.
pub(crate) fn read(bytes: &[u8], password: &str) -> Result<PfxContents> {
    // Tell a damaged or foreign file from a wrong password before p12-keystore's errors,
    // which do not distinguish them: a PFX is one complete DER SEQUENCE.
    if der::Document::try_from(bytes).is_err() {
        return Err(Error::malformed(
            "the PFX file",
            "it is not a complete PKCS#12 structure (truncated, not a .pfx/.p12, or PEM instead of DER?)",
        ));
    }
    let archive = Pkcs12Archive::from_pkcs12(bytes, password).map_err(map_read_error)?;

    if archive.certs.is_empty() {
        return Err(Error::NoCertificate("the PFX file".into()));
    }
    let certs: Vec<Vec<u8>> = dedup(archive.certs.iter().map(|c| c.cert.as_der().to_vec()));

    let mut notes = Vec::new();
    let mut found: Option<(usize, StoredKey, Option<String>)> = None;
    let mut first_err = None;
    let mut extra_keys = 0;
    for bag in &archive.keys {
        let key = match StoredKey::from_pkcs8(bag.key.as_der()) {
            Ok(k) => k,
            Err(e) => {
                first_err.get_or_insert(e);
                continue;
            }
        };
        let matching = certs.iter().position(|der| {
            parse_cert(der, "a certificate in the PFX file")
                .map(|c| key.check_matches(&c).is_ok())
                .unwrap_or(false)
        });
        match (matching, &found) {
            (Some(i), None) => found = Some((i, key, bag.friendly_name.clone())),
            (Some(_), Some(_)) => extra_keys += 1,
            (None, _) => {
                first_err.get_or_insert(Error::KeyMismatch);
            }
        }
    }
    if extra_keys > 0 {
        notes.push(format!(
            "the PFX file holds {} more key(s) with certificates; only the first was imported",
            extra_keys
        ));
    }
    if found.is_none()
        && let Some(e) = first_err
    {
        // There were keys, and none fits a certificate of the file.
        return Err(e);
    }

    let (leaf_index, key, key_name) = match found {
        Some((i, k, n)) => (i, Some(k), n),
        None => (leaf_of(&certs), None, None),
    };
    let leaf = certs[leaf_index].clone();
    let others: Vec<Vec<u8>> = certs
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leaf_index)
        .map(|(_, c)| c.clone())
        .collect();
    let (chain, unrelated) = order_chain(&leaf, others)?;
    if unrelated > 0 {
        notes.push(format!(
            "{unrelated} certificate(s) in the PFX file are not in the certificate's chain and were not imported"
        ));
    }

    let leaf_parsed = parse_cert(&leaf, "the certificate in the PFX file")?;
    let subject = leaf_parsed.subject().to_string();
    let thumb = Thumbprint::of_der(&leaf).to_string();
    let cert_name = archive
        .certs
        .iter()
        .find(|c| c.cert.as_der() == leaf.as_slice())
        .and_then(|c| c.friendly_name.clone());
    // p12-keystore labels certificate bags with the subject, and we label key bags with
    // the thumbprint when there is no friendly name: neither is a name a person gave.
    let friendly_name = [key_name, cert_name]
        .into_iter()
        .flatten()
        .find(|n| !n.is_empty() && *n != subject && !n.eq_ignore_ascii_case(&thumb));

    Ok(PfxContents {
        leaf,
        key,
        chain,
        friendly_name,
        notes,
    })
}

/// Writes a PFX holding the key, the leaf and its chain.
pub(crate) fn write(
    key: &StoredKey,
    leaf: &[u8],
    chain: &[Vec<u8>],
    friendly_name: Option<&str>,
    password: &str,
    legacy: bool,
) -> Result<Zeroizing<Vec<u8>>> {
    let thumb = Thumbprint::of_der(leaf);
    let mut certs = Vec::with_capacity(1 + chain.len());
    for der in std::iter::once(leaf).chain(chain.iter().map(|c| c.as_slice())) {
        certs.push(Certificate::from_der(der).map_err(|e| Error::PfxWrite(e.to_string()))?);
    }
    let private_key =
        PrivateKey::from_der(&key.pkcs8).map_err(|e| Error::PfxWrite(e.to_string()))?;
    // localKeyId: the certificate's SHA-1, as openssl writes it.
    let entry = PrivateKeyChain::new(thumb.as_bytes().to_vec(), private_key, certs);
    let alias = friendly_name
        .map(str::to_owned)
        .unwrap_or_else(|| thumb.to_string());
    let mut ks = KeyStore::new();
    ks.add_entry(&alias, KeyStoreEntry::PrivateKeyChain(entry));

    let writer = ks.writer(password);
    let writer = if legacy {
        writer
            .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
            .encryption_iterations(LEGACY_ITERATIONS)
            .mac_algorithm(MacAlgorithm::HmacSha1)
            .mac_iterations(LEGACY_ITERATIONS)
    } else {
        writer
            .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
            .encryption_iterations(AES_ITERATIONS)
            .mac_algorithm(MacAlgorithm::HmacSha256)
            .mac_iterations(AES_ITERATIONS)
    };
    let out = writer.write().map_err(|e| Error::PfxWrite(e.to_string()));
    drop(ks);
    out.map(Zeroizing::new)
}

fn map_read_error(e: P12Error) -> Error {
    match e {
        // The MAC is keyed by the password: a mismatch means the wrong password (or an
        // altered file). Files without a MAC fail at decryption instead.
        P12Error::MacError(_) | P12Error::UnpadError | P12Error::Pkcs5Error(_) => {
            Error::WrongPassword
        }
        P12Error::UnsupportedEncryptionScheme => Error::malformed(
            "the PFX file",
            "it uses an encryption scheme reportd cannot read; re-export it with AES-256 (`openssl pkcs12 -export`) or 3DES",
        ),
        P12Error::UnsupportedMacAlgorithm => Error::malformed(
            "the PFX file",
            "it uses an unsupported MAC algorithm; re-export it with `openssl pkcs12 -export`",
        ),
        P12Error::InvalidParameters => Error::malformed(
            "the PFX file",
            "its encryption parameters are invalid or excessive (iteration count?)",
        ),
        other => Error::malformed(
            "the PFX file",
            format!("{other} (damaged file, or a wrong password on a file without a MAC)"),
        ),
    }
}

fn dedup(items: impl Iterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Without a key, the end entity is the certificate that issued none of the others.
pub(crate) fn leaf_of(certs: &[Vec<u8>]) -> usize {
    let parsed: Vec<_> = certs
        .iter()
        .map(|d| parse_cert(d, "a certificate").ok())
        .collect();
    for (i, c) in parsed.iter().enumerate() {
        let Some(c) = c else { continue };
        let issues_another = parsed.iter().enumerate().any(|(j, o)| {
            j != i
                && o.as_ref()
                    .is_some_and(|o| o.issuer().as_raw() == c.subject().as_raw())
        });
        if !issues_another {
            return i;
        }
    }
    0
}

/// Orders `others` as the chain of `leaf` (issuer of the leaf first, then its issuer...).
/// Returns the chain and how many certificates were not part of it.
pub(crate) fn order_chain(leaf: &[u8], mut others: Vec<Vec<u8>>) -> Result<(Vec<Vec<u8>>, usize)> {
    let mut chain = Vec::new();
    let mut current = leaf.to_vec();
    loop {
        let cur = parse_cert(&current, "a certificate of the chain")?;
        if cur.subject().as_raw() == cur.issuer().as_raw() {
            break; // self-signed: the top
        }
        let issuer = cur.issuer().as_raw().to_vec();
        let next = others.iter().position(|o| {
            parse_cert(o, "a certificate of the chain")
                .map(|p| p.subject().as_raw() == issuer.as_slice())
                .unwrap_or(false)
        });
        match next {
            Some(i) => {
                let n = others.remove(i);
                chain.push(n.clone());
                current = n;
            }
            None => break,
        }
    }
    Ok((chain, others.len()))
}
