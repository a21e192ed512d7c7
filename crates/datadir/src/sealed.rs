//! Sealed secrets: small values (data-source passwords) encrypted with the instance key so
//! the catalog can store them and nobody reading the catalog alone can recover them.
//!
//! Format: `version (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)`.
//! The AES key is derived from the instance key with HKDF-SHA256 (its own label, so it is
//! independent of the instance key's other uses such as CSRF tokens); the nonce is random per
//! seal; the version byte is authenticated. Crypto comes from aws-lc-rs only.
//!
//! The cluster key of a PostgreSQL cluster is handed between nodes here too
//! ([`node_public_key`], [`seal_for_node`], [`open_as_node`]): each node has an X25519 key
//! pair whose private half is derived (HKDF) from its instance key, so nothing new is kept
//! in the data dir and only that node can compute it; its public half is in the node table.
//! A joined node seals the cluster key to a waiting node's public key (ephemeral X25519,
//! HKDF-SHA256 over the shared secret and both public keys, AES-256-GCM with the caller's
//! associated data: the installation id and key version, so a copy cannot be moved to
//! another row or version). [`ClusterKey`] seals values under the cluster key with
//! associated data binding them to their row ([`ClusterKey::seal`]); [`subkey`] derives
//! independent keys (CSRF, sessions) with distinct HKDF labels.
//!
//! Must not: log, print or return a plaintext anywhere but [`open`]'s zeroized result.

use aws_lc_rs::aead::{
    AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, RandomizedNonceKey, UnboundKey,
};
use aws_lc_rs::agreement;
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
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
    let bytes = hkdf32(HKDF_SALT, instance_key, HKDF_INFO);
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

/// First byte of a cluster key sealed for a node.
pub const NODE_VERSION: u8 = 2;
/// First byte of a value sealed under the cluster key with associated data.
pub const BOUND_VERSION: u8 = 3;
const X25519_LEN: usize = 32;
const NODE_SEALED_LEN: usize = 1 + X25519_LEN + NONCE_LEN + 32 + TAG_LEN;

/// A 32-byte key derived from `key` for one purpose (`label`, e.g. `"csrf"`): HKDF-SHA256
/// with the label as info, so keys of different labels are independent.
pub fn subkey(key: &[u8], label: &str) -> Zeroizing<[u8; 32]> {
    hkdf32(b"reportd subkeys", key, label.as_bytes())
}

/// HKDF-SHA256 (extract with `salt`, expand with `info`) to 32 bytes: the one derivation
/// behind the sealing key, the subkeys and each wrap's key.
fn hkdf32(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let prk = Salt::new(HKDF_SHA256, salt).extract(ikm);
    let mut out = Zeroizing::new([0u8; 32]);
    let info = [info];
    // 32 bytes is far below HKDF-SHA256's limit (255 × 32): expanding cannot fail
    prk.expand(&info, &AES_256_GCM)
        .and_then(|okm| okm.fill(&mut out[..]))
        .expect("HKDF-SHA256 expands to 32 bytes");
    out
}

fn node_private_key(instance_key: &[u8]) -> Result<agreement::PrivateKey, SealError> {
    if instance_key.is_empty() {
        return Err(SealError::Key("it is empty"));
    }
    let seed = subkey(instance_key, "reportd node key X25519 v1");
    agreement::PrivateKey::from_private_key(&agreement::X25519, &seed[..])
        .map_err(|_| SealError::Key("X25519 key setup failed"))
}

/// The node's X25519 public key (what the node table publishes), derived from its
/// instance key.
///
/// # Errors
/// [`SealError::Key`] when the instance key is empty or the crypto library fails.
pub fn node_public_key(instance_key: &[u8]) -> Result<Vec<u8>, SealError> {
    let pk = node_private_key(instance_key)?
        .compute_public_key()
        .map_err(|_| SealError::Key("X25519 public key failed"))?;
    Ok(pk.as_ref().to_vec())
}

/// The AES key of one wrap: HKDF-SHA256(shared secret; salt = ephemeral ‖ node public key).
fn wrap_key(shared: &[u8], eph: &[u8], node: &[u8]) -> Result<LessSafeKey, SealError> {
    let mut salt = Vec::with_capacity(2 * X25519_LEN);
    salt.extend_from_slice(eph);
    salt.extend_from_slice(node);
    let bytes = hkdf32(&salt, shared, b"reportd cluster key wrap v1");
    UnboundKey::new(&AES_256_GCM, &bytes[..])
        .map(LessSafeKey::new)
        .map_err(|_| SealError::Key("AES key setup failed"))
}

fn node_aad(aad: &[u8]) -> Vec<u8> {
    let mut a = vec![NODE_VERSION];
    a.extend_from_slice(aad);
    a
}

/// Seals `cluster_key` so that only the node whose [`node_public_key`] is `public_key`
/// can open it; `aad` (installation id, key version) must be given again to open it.
///
/// # Errors
/// [`SealError::Malformed`] for a public key that is not X25519, [`SealError::Key`] when
/// the crypto library fails.
pub fn seal_for_node(
    public_key: &[u8],
    aad: &[u8],
    cluster_key: &[u8; 32],
) -> Result<Vec<u8>, SealError> {
    if public_key.len() != X25519_LEN {
        return Err(SealError::Malformed("the node's public key is not X25519"));
    }
    let rng = SystemRandom::new();
    let eph = agreement::EphemeralPrivateKey::generate(&agreement::X25519, &rng)
        .map_err(|_| SealError::Key("no randomness"))?;
    let eph_pub = eph
        .compute_public_key()
        .map_err(|_| SealError::Key("X25519 public key failed"))?
        .as_ref()
        .to_vec();
    let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, public_key);
    let key = agreement::agree_ephemeral(
        eph,
        peer,
        SealError::Malformed("the node's public key is not usable"),
        |shared| wrap_key(shared, &eph_pub, public_key),
    )?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce)
        .map_err(|_| SealError::Key("no randomness"))?;
    let mut buf = Zeroizing::new(cluster_key.to_vec());
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(node_aad(aad)),
        &mut *buf,
    )
    .map_err(|_| SealError::Key("encryption failed"))?;
    let mut out = Vec::with_capacity(NODE_SEALED_LEN);
    out.push(NODE_VERSION);
    out.extend_from_slice(&eph_pub);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens, with this node's instance key, what [`seal_for_node`] sealed to its public key.
///
/// # Errors
/// [`SealError::Malformed`] for bytes not in the format, [`SealError::Unauthentic`] when
/// it was sealed for another node (another instance key), for other `aad`, or changed.
pub fn open_as_node(
    instance_key: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<[u8; 32]>, SealError> {
    if sealed.first() != Some(&NODE_VERSION) {
        return Err(SealError::Malformed("not a sealed cluster key"));
    }
    if sealed.len() != NODE_SEALED_LEN {
        return Err(SealError::Malformed(
            "a sealed cluster key has the wrong length",
        ));
    }
    let eph_pub = &sealed[1..1 + X25519_LEN];
    let nonce = &sealed[1 + X25519_LEN..1 + X25519_LEN + NONCE_LEN];
    let me = node_private_key(instance_key)?;
    let my_pub = node_public_key(instance_key)?;
    let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, eph_pub);
    let key = agreement::agree(&me, peer, SealError::Unauthentic, |shared| {
        wrap_key(shared, eph_pub, &my_pub)
    })?;
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed("bad nonce"))?;
    let mut buf = Zeroizing::new(sealed[1 + X25519_LEN + NONCE_LEN..].to_vec());
    let plain = key
        .open_in_place(nonce, Aad::from(node_aad(aad)), &mut buf[..])
        .map_err(|_| SealError::Unauthentic)?;
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(plain);
    Ok(out)
}

/// The cluster key of a PostgreSQL cluster (or, single node, the instance key) with its
/// version: seals rows' secrets bound to the row (`aad`, e.g. `cluster_certs/<thumbprint>`),
/// so a ciphertext copied into another row does not open. Zeroized on drop; `Debug` shows
/// only the version.
#[derive(Clone)]
pub struct ClusterKey {
    key: Zeroizing<[u8; 32]>,
    version: i64,
}

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl ClusterKey {
    pub fn new(key: Zeroizing<[u8; 32]>, version: i64) -> ClusterKey {
        ClusterKey { key, version }
    }

    /// A new random key of `version`.
    ///
    /// # Errors
    /// [`SealError::Key`] without randomness.
    pub fn generate(version: i64) -> Result<ClusterKey, SealError> {
        let mut key = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(&mut key[..])
            .map_err(|_| SealError::Key("no randomness"))?;
        Ok(ClusterKey { key, version })
    }

    /// The version (`cluster_keys.version`; 0 for an instance key).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The key bytes (to seal for a node, or to derive from).
    pub fn bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// A key derived for one purpose ([`subkey`]).
    pub fn subkey(&self, label: &str) -> Zeroizing<[u8; 32]> {
        subkey(&self.key[..], label)
    }

    /// Seals `plaintext` bound to `aad` (format: `3 || nonce || ciphertext || tag`).
    ///
    /// # Errors
    /// [`SealError::Key`] when the crypto library fails.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let k = key(&self.key[..])?;
        let mut buf = Zeroizing::new(plaintext.to_vec());
        let nonce = k
            .seal_in_place_append_tag(Aad::from(bound_aad(aad)), &mut *buf)
            .map_err(|_| SealError::Key("encryption failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(BOUND_VERSION);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens what [`ClusterKey::seal`] sealed with the same `aad`.
    ///
    /// # Errors
    /// [`SealError::Malformed`] for bytes not in the format, [`SealError::Unauthentic`] for
    /// another key, other `aad` or changed bytes.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Malformed("empty"))?;
        if version != BOUND_VERSION {
            return Err(SealError::Malformed("unknown version"));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed("too short"));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| SealError::Malformed("bad nonce"))?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len = key(&self.key[..])?
            .open_in_place(nonce, Aad::from(bound_aad(aad)), &mut buf[..])
            .map_err(|_| SealError::Unauthentic)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    /// [`crate::keyfile::check_value`] of the key.
    pub fn check_value(&self) -> String {
        crate::keyfile::check_value(&self.key[..])
    }
}

fn bound_aad(aad: &[u8]) -> Vec<u8> {
    let mut a = vec![BOUND_VERSION];
    a.extend_from_slice(aad);
    a
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

    #[test]
    fn a_cluster_key_sealed_for_a_node_opens_only_there() {
        let (a, b) = ([3u8; 32], [4u8; 32]);
        let pa = node_public_key(&a).unwrap();
        assert_eq!(pa, node_public_key(&a).unwrap(), "derived, stable");
        assert_ne!(pa, node_public_key(&b).unwrap());
        let ck = [5u8; 32];
        let s = seal_for_node(&pa, b"id-a/1", &ck).unwrap();
        assert_eq!(s.len(), NODE_SEALED_LEN);
        assert!(!s.windows(8).any(|w| w == &ck[..8]));
        assert_eq!(&open_as_node(&a, b"id-a/1", &s).unwrap()[..], &ck[..]);
        assert_eq!(
            open_as_node(&b, b"id-a/1", &s).unwrap_err(),
            SealError::Unauthentic,
            "another node's instance key"
        );
        assert_eq!(
            open_as_node(&a, b"id-a/2", &s).unwrap_err(),
            SealError::Unauthentic,
            "another version"
        );
        let mut t = s.clone();
        t[40] ^= 1;
        assert!(open_as_node(&a, b"id-a/1", &t).is_err());
        assert!(matches!(
            seal_for_node(b"short", b"", &ck),
            Err(SealError::Malformed(_))
        ));
        assert!(matches!(
            open_as_node(&a, b"", &s[..20]),
            Err(SealError::Malformed(_))
        ));
    }

    #[test]
    fn bound_values_open_only_with_their_aad_and_subkeys_differ() {
        let k = ClusterKey::new(Zeroizing::new([6u8; 32]), 2);
        let s = k.seal(b"cluster_certs/AB", b"private key").unwrap();
        assert_eq!(
            &k.open(b"cluster_certs/AB", &s).unwrap()[..],
            b"private key"
        );
        assert_eq!(
            k.open(b"cluster_certs/CD", &s).unwrap_err(),
            SealError::Unauthentic
        );
        let other = ClusterKey::generate(3).unwrap();
        assert_eq!(
            other.open(b"cluster_certs/AB", &s).unwrap_err(),
            SealError::Unauthentic
        );
        assert_ne!(*k.subkey("csrf"), *k.subkey("session"));
        assert_eq!(*k.subkey("csrf"), *subkey(&[6u8; 32], "csrf"));
        assert!(!format!("{k:?}").contains('6'));
    }
}
