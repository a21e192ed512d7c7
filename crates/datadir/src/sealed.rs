//! Sealed secrets: small values (data-source passwords) encrypted with the instance key so
//! the catalog can store them and nobody reading the catalog alone can recover them.
//!
//! Format: `version (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)`.
//! The AES key is derived from the instance key with HKDF-SHA256 (its own label, so it is
//! independent of the instance key's other uses such as CSRF tokens); the nonce is random per
//! seal; the version byte is authenticated. Crypto comes from aws-lc-rs only.
//!
//! Must not: log, print or return a plaintext anywhere but [`open`]'s zeroized result.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use zeroize::Zeroizing;

/// The current format's first byte.
pub const VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const HKDF_SALT: &[u8] = b"reportd sealed secrets";
const HKDF_INFO: &[u8] = b"AES-256-GCM v1";

/// Why a sealed value could not be opened (or sealed).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The bytes are too short or of an unknown version: not something [`seal`] wrote.
    #[error(
        "the stored secret is not in a format this server writes ({0}); enter the data source's \
         credentials again"
    )]
    Malformed(&'static str),
    /// Authentication failed: the value was changed, or it was sealed with another instance
    /// key (a catalog restored without its data dir's `instance.key`).
    #[error(
        "the stored secret cannot be decrypted: it was changed or sealed with another instance \
         key; restore the data dir's instance key from the same backup as the catalog, or enter \
         the data source's credentials again"
    )]
    Unauthentic,
    /// The instance key is empty or the crypto library failed.
    #[error("the instance key cannot be used ({0}); restore it from backup")]
    Key(&'static str),
}

fn key(instance_key: &[u8]) -> Result<RandomizedNonceKey, SealError> {
    if instance_key.is_empty() {
        return Err(SealError::Key("it is empty"));
    }
    let prk = Salt::new(HKDF_SHA256, HKDF_SALT).extract(instance_key);
    let mut bytes = Zeroizing::new([0u8; 32]);
    prk.expand(&[HKDF_INFO], &AES_256_GCM)
        .and_then(|okm| okm.fill(&mut bytes[..]))
        .map_err(|_| SealError::Key("key derivation failed"))?;
    RandomizedNonceKey::new(&AES_256_GCM, &bytes[..])
        .map_err(|_| SealError::Key("AES key setup failed"))
}

/// Encrypts `plaintext` under `instance_key`.
///
/// # Errors
/// [`SealError::Key`] when the key is empty or the crypto library fails (no randomness).
pub fn seal(instance_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let k = key(instance_key)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    buf.extend_from_slice(plaintext);
    let nonce = k
        .seal_in_place_append_tag(Aad::from([VERSION]), &mut *buf)
        .map_err(|_| SealError::Key("encryption failed"))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
    out.push(VERSION);
    out.extend_from_slice(nonce.as_ref());
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Decrypts what [`seal`] wrote; the plaintext is zeroized when dropped.
///
/// # Errors
/// [`SealError::Malformed`] for bytes not in the format, [`SealError::Unauthentic`] for a
/// changed value or a different key.
pub fn open(instance_key: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let (&version, rest) = sealed.split_first().ok_or(SealError::Malformed("empty"))?;
    if version != VERSION {
        return Err(SealError::Malformed("unknown version"));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Malformed("too short"));
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed("bad nonce"))?;
    let k = key(instance_key)?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let len = k
        .open_in_place(nonce, Aad::from([version]), &mut buf[..])
        .map_err(|_| SealError::Unauthentic)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7u8; 32];

    #[test]
    fn round_trip_and_fresh_nonces() {
        for secret in [
            &b""[..],
            b"p",
            b"a much longer password with unicode \xc3\xa9",
        ] {
            let s = seal(&KEY, secret).unwrap();
            assert_eq!(s.len(), 1 + NONCE_LEN + secret.len() + TAG_LEN);
            assert_eq!(s[0], VERSION);
            assert_eq!(&open(&KEY, &s).unwrap()[..], secret);
        }
        let a = seal(&KEY, b"same").unwrap();
        let b = seal(&KEY, b"same").unwrap();
        assert_ne!(a, b, "each seal uses a fresh random nonce");
        // The plaintext does not appear in the sealed bytes.
        let s = seal(&KEY, b"hunter22hunter22").unwrap();
        assert!(!s.windows(8).any(|w| w == b"hunter22"));
    }

    #[test]
    fn any_changed_byte_is_detected() {
        let s = seal(&KEY, b"secret password").unwrap();
        for i in 0..s.len() {
            let mut t = s.clone();
            t[i] ^= 0x01;
            let e = open(&KEY, &t).unwrap_err();
            if i == 0 {
                assert_eq!(e, SealError::Malformed("unknown version"));
            } else {
                assert_eq!(e, SealError::Unauthentic, "byte {i}");
            }
        }
        assert_eq!(
            open(&KEY, &s[..s.len() - 1]).unwrap_err(),
            SealError::Unauthentic
        );
        assert_eq!(
            open(&KEY, &s[..10]).unwrap_err(),
            SealError::Malformed("too short")
        );
        assert_eq!(open(&KEY, &[]).unwrap_err(), SealError::Malformed("empty"));
    }

    #[test]
    fn another_key_cannot_open() {
        let s = seal(&KEY, b"secret").unwrap();
        let mut other = KEY;
        other[31] ^= 0x80;
        let e = open(&other, &s).unwrap_err();
        assert_eq!(e, SealError::Unauthentic);
        assert!(e.to_string().contains("instance key"));
        assert!(!e.to_string().contains("secret\""));
        assert_eq!(seal(&[], b"x").unwrap_err(), SealError::Key("it is empty"));
    }
}
