//! Instance key backups: the instance key sealed under a password (the SSRS `.snk` file that
//! `BackupEncryptionKey` / `rskeymgmt -e` write and `RestoreEncryptionKey` / `-a` read).
//!
//! Format (all integers big-endian):
//! `MAGIC (8) || m_cost u32 || t_cost u32 || p_cost u32 || salt (16) || nonce (12) ||
//! AES-256-GCM(instance key (32)) || tag (16)`. The AES key is argon2id(password, salt) with
//! the stored costs; the header up to the nonce is the associated data, so no cost or salt
//! can be changed without the open failing. A [`check_value`] identifies a key without
//! revealing it (shown by `reportctl keys` and compared on restore).
//!
//! Must not: write files (callers decide where the bytes go), log or return the key except
//! as the zeroized result of [`open`].

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// First bytes of every key file.
pub const MAGIC: &[u8; 8] = b"RPTDKEY1";
const SALT_LEN: usize = 16;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
const HEADER_LEN: usize = MAGIC.len() + 12 + SALT_LEN;
/// Exact length of a key file.
pub const FILE_LEN: usize = HEADER_LEN + NONCE_LEN + KEY_LEN + TAG_LEN;
/// argon2id costs of new files (OWASP's second option: 46 MiB, 1 pass); files may carry
/// others up to [`MAX_M_COST`] so that a crafted file cannot make a restore take forever.
const M_COST: u32 = 47_104;
const T_COST: u32 = 1;
const P_COST: u32 = 1;
const MAX_M_COST: u32 = 1 << 20;
const MAX_T_COST: u32 = 10;
const MAX_P_COST: u32 = 4;
/// Shortest password accepted for a new backup.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyFileError {
    #[error(
        "the password is too short ({0} characters); use at least {MIN_PASSWORD_LEN} characters"
    )]
    WeakPassword(usize),
    #[error(
        "the file is not a reportd key backup ({0}); pass the file written by BackupEncryptionKey or `reportctl keys backup`"
    )]
    Malformed(&'static str),
    #[error(
        "the key backup cannot be opened: the password is wrong or the file was changed; use the password given when it was written"
    )]
    Unauthentic,
    #[error("the key backup cannot be made ({0})")]
    Crypto(&'static str),
}

fn derive(
    password: &str,
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyFileError> {
    let params = argon2::Params::new(m, t, p, Some(KEY_LEN))
        .map_err(|_| KeyFileError::Malformed("invalid key derivation costs"))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    a.hash_password_into(password.as_bytes(), salt, &mut out[..])
        .map_err(|_| KeyFileError::Crypto("key derivation failed"))?;
    Ok(out)
}

fn aead(key: &[u8]) -> Result<LessSafeKey, KeyFileError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| KeyFileError::Crypto("AES key setup failed"))
}

/// Seals `instance_key` under `password`.
///
/// # Errors
/// [`KeyFileError::WeakPassword`] for a password shorter than [`MIN_PASSWORD_LEN`].
pub fn seal(instance_key: &[u8; KEY_LEN], password: &str) -> Result<Vec<u8>, KeyFileError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(KeyFileError::WeakPassword(n));
    }
    let rng = SystemRandom::new();
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut salt)
        .and_then(|_| rng.fill(&mut nonce))
        .map_err(|_| KeyFileError::Crypto("no randomness"))?;
    let mut out = Vec::with_capacity(FILE_LEN);
    out.extend_from_slice(MAGIC);
    for v in [M_COST, T_COST, P_COST] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&salt);
    let k = derive(password, &salt, M_COST, T_COST, P_COST)?;
    let mut buf = Zeroizing::new(instance_key.to_vec());
    aead(&k[..])?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&out[..HEADER_LEN]),
            &mut *buf,
        )
        .map_err(|_| KeyFileError::Crypto("encryption failed"))?;
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens what [`seal`] wrote.
///
/// # Errors
/// [`KeyFileError::Malformed`] for bytes not in the format, [`KeyFileError::Unauthentic`]
/// for a wrong password or a changed file.
pub fn open(file: &[u8], password: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyFileError> {
    if file.len() < MAGIC.len() || &file[..MAGIC.len()] != MAGIC {
        return Err(KeyFileError::Malformed(
            "it does not start with the key file marker",
        ));
    }
    if file.len() != FILE_LEN {
        return Err(KeyFileError::Malformed("it has the wrong length"));
    }
    let u32_at = |i: usize| u32::from_be_bytes(file[i..i + 4].try_into().expect("4 bytes"));
    let (m, t, p) = (u32_at(8), u32_at(12), u32_at(16));
    if m > MAX_M_COST || t > MAX_T_COST || p > MAX_P_COST {
        return Err(KeyFileError::Malformed(
            "its key derivation costs are out of range",
        ));
    }
    let salt = &file[20..HEADER_LEN];
    let nonce = &file[HEADER_LEN..HEADER_LEN + NONCE_LEN];
    let k = derive(password, salt, m, t, p)?;
    let mut buf = Zeroizing::new(file[HEADER_LEN + NONCE_LEN..].to_vec());
    let nonce = Nonce::try_assume_unique_for_key(nonce)
        .map_err(|_| KeyFileError::Malformed("bad nonce"))?;
    let plain = aead(&k[..])?
        .open_in_place(nonce, Aad::from(&file[..HEADER_LEN]), &mut buf[..])
        .map_err(|_| KeyFileError::Unauthentic)?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(plain);
    Ok(key)
}

/// A short public fingerprint of a key (HMAC-SHA256 of a constant, 8 bytes hex): equal for
/// equal keys, reveals nothing about the key.
pub fn check_value(instance_key: &[u8]) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA256, instance_key);
    let tag = hmac::sign(&k, b"reportd instance key check value");
    tag.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [9u8; 32];

    #[test]
    fn round_trip_and_wrong_password() {
        let f = seal(&KEY, "correct horse").unwrap();
        assert_eq!(f.len(), FILE_LEN);
        assert_eq!(&open(&f, "correct horse").unwrap()[..], &KEY[..]);
        assert_eq!(
            open(&f, "correct horsE").unwrap_err(),
            KeyFileError::Unauthentic
        );
        assert!(!f.windows(8).any(|w| w == &KEY[..8]), "key not in clear");
    }

    #[test]
    fn changed_bytes_and_bad_input_are_refused() {
        let f = seal(&KEY, "password1").unwrap();
        for i in [9, 21, HEADER_LEN + 1, FILE_LEN - 1] {
            let mut g = f.clone();
            g[i] ^= 1;
            assert!(open(&g, "password1").is_err(), "byte {i}");
        }
        assert!(matches!(
            open(b"hello", "password1"),
            Err(KeyFileError::Malformed(_))
        ));
        assert!(matches!(
            open(&f[..FILE_LEN - 1], "password1"),
            Err(KeyFileError::Malformed(_))
        ));
        let mut huge = f.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            open(&huge, "password1"),
            Err(KeyFileError::Malformed(_))
        ));
        assert_eq!(
            seal(&KEY, "short").unwrap_err(),
            KeyFileError::WeakPassword(5)
        );
    }

    #[test]
    fn check_value_identifies_the_key() {
        let mut other = KEY;
        other[0] ^= 1;
        assert_eq!(check_value(&KEY), check_value(&KEY));
        assert_ne!(check_value(&KEY), check_value(&other));
        assert_eq!(check_value(&KEY).len(), 16);
    }
}
