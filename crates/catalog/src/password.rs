//! Password hashing for catalog users: argon2id, stored as PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
//!
//! Parameters follow the OWASP Password Storage Cheat Sheet's first argon2id option
//! (19 MiB of memory, 2 iterations, 1 lane): memory-hard enough that a stolen catalog is
//! expensive to attack, cheap enough (tens of milliseconds) that HTTP Basic sign-ins,
//! which verify on every request unless the caller caches, stay fast on a small server.
//! [`verify`] reads the parameters from the stored string, so raising them later only
//! affects new hashes.
//!
//! This module never logs, prints or stores a password; it returns hashes and booleans.
//! Callers keep passwords in `Zeroizing` buffers.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Shortest password accepted for a user, in characters.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Longest password accepted, in bytes. Argon2 cost does not grow with the length, but a
/// bound keeps a hostile request from making the server copy megabytes into the hasher.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Memory cost in KiB (19 MiB), OWASP's recommendation for argon2id with t=2.
const M_COST_KIB: u32 = 19 * 1024;
/// Iterations.
const T_COST: u32 = 2;
/// Lanes: 1, so one sign-in occupies one core of a small machine, not all of them.
const P_COST: u32 = 1;

fn hasher() -> Result<Argon2<'static>> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None)
        .map_err(|e| Error::Invalid(format!("argon2 parameters refused: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks a new user password against the policy: at least [`MIN_PASSWORD_LEN`]
/// characters, at most [`MAX_PASSWORD_BYTES`] bytes. The error never contains the password.
pub fn check_policy(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(Error::Invalid(format!(
            "the password is too short ({n} characters); user passwords need at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::Invalid(format!(
            "the password is too long; user passwords are at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Hashes `password` with argon2id and a fresh random salt; returns the PHC string to store.
/// Does not apply [`check_policy`] (call it first for new user passwords).
pub fn hash(password: &str) -> Result<String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::Invalid(format!(
            "the password is too long; passwords are at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid(format!("cannot hash the password: {e}")))
}

/// True when `password` matches the PHC string `phc`. False for a wrong password and for a
/// `phc` that is not an argon2 PHC string (never panics, never errors: a damaged hash just
/// does not verify). Takes the parameters from `phc`.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Largest memory cost (KiB) [`verify_with`] accepts from a stored hash: a damaged or
/// hostile hash asking for gigabytes does not verify instead of allocating them.
pub const MAX_M_COST_KIB: u32 = 64 * 1024;

/// Memory for argon2 that a long-lived thread keeps and reuses across hashes
/// ([`verify_with`]). Allocated once at its first use (19 MiB with our parameters): a
/// fresh allocation per hash is kept by the allocator's per-thread arenas anyway, and
/// several threads then hold several copies.
#[derive(Default)]
pub struct KdfMemory(Vec<Block>);

impl std::fmt::Debug for KdfMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KdfMemory({} KiB)", self.0.len())
    }
}

/// [`verify`], computing the hash in `memory` (grown to the stored hash's memory cost at
/// most once). Same answers: false for a wrong password, a damaged hash, or one whose
/// memory cost exceeds [`MAX_M_COST_KIB`]. The comparison is constant-time.
pub fn verify_with(password: &str, phc: &str, memory: &mut KdfMemory) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST_KIB {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, Block::default());
    }
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut out[..],
        &mut memory.0[..blocks],
    );
    // Output's equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// [`hash`], computing in `memory` (see [`verify_with`]).
pub fn hash_with(password: &str, memory: &mut KdfMemory) -> Result<String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::Invalid(format!(
            "the password is too long; passwords are at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let failed =
        |e: &dyn std::fmt::Display| Error::Invalid(format!("cannot hash the password: {e}"));
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| failed(&e))?;
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let raw_salt = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| failed(&e))?;
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, Block::default());
    }
    let mut out = Zeroizing::new([0u8; Params::DEFAULT_OUTPUT_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            raw_salt,
            &mut out[..],
            &mut memory.0[..blocks],
        )
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out[..]).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// [`verify_nothing`] in `memory` (see [`verify_with`]).
pub fn verify_nothing_with(password: &str, memory: &mut KdfMemory) {
    if let Some(h) = dummy_hash() {
        let _ = verify_with(password, h, memory);
    }
}

/// A hash of a random password with our parameters, computed once per process.
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let mut bytes = [0u8; 24];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            hash(&random).ok()
        })
        .as_deref()
}

/// Spends the time of one [`verify`] without a stored hash, for a user name that does not
/// exist, so that response times do not tell which user names exist.
pub fn verify_nothing(password: &str) {
    if let Some(h) = dummy_hash() {
        let _ = verify(password, h);
    }
}

/// True when `s` looks like a PHC string of an argon2 hash (what [`hash`] returns). The
/// catalog refuses to store anything else as a password hash, so a plaintext password
/// cannot end up in the users table by mistake.
pub fn is_phc(s: &str) -> bool {
    PasswordHash::new(s)
        .is_ok_and(|h| h.algorithm.as_str().starts_with("argon2") && h.hash.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(is_phc(&h));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("", &h));
    }

    #[test]
    fn verify_with_reused_memory_agrees_with_verify() {
        let mut mem = KdfMemory::default();
        let h = hash("correct horse battery").unwrap();
        for _ in 0..2 {
            assert!(verify_with("correct horse battery", &h, &mut mem));
            assert!(!verify_with("correct horse batterY", &h, &mut mem));
        }
        assert_eq!(mem.0.len(), 19 * 1024, "allocated once, our parameters");
        assert!(!verify_with("pw", "", &mut mem));
        assert!(!verify_with(
            "pw",
            "$argon2id$v=19$m=19456,t=2,p=1$broken",
            &mut mem
        ));
        // A stored hash asking for too much memory does not verify (nothing allocated).
        let greedy = h.replace("m=19456", "m=4000000");
        assert!(!verify_with("correct horse battery", &greedy, &mut mem));
        assert_eq!(mem.0.len(), 19 * 1024);
        // Other parameters are read from the hash.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"x y z", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(verify_with("x y z", &small, &mut mem));
        assert!(verify("x y z", &small));
        verify_nothing_with("whatever", &mut mem);
        let made = hash_with("correct horse battery", &mut mem).unwrap();
        assert!(
            made.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{made}"
        );
        assert!(is_phc(&made));
        assert!(verify("correct horse battery", &made));
        assert!(!verify("correct horse batterY", &made));
        assert_ne!(
            made,
            hash_with("correct horse battery", &mut mem).unwrap(),
            "fresh salt"
        );
    }

    #[test]
    fn salts_differ() {
        let a = hash("same password").unwrap();
        let b = hash("same password").unwrap();
        assert_ne!(a, b);
        assert!(verify("same password", &a) && verify("same password", &b));
    }

    #[test]
    fn garbage_hashes_do_not_verify() {
        assert!(!verify("pw", ""));
        assert!(!verify("pw", "pw"));
        assert!(!verify("pw", "$argon2id$v=19$m=19456,t=2,p=1$broken"));
        assert!(!is_phc("plaintext password"));
        assert!(!is_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"));
        verify_nothing("whatever");
    }

    #[test]
    fn policy_names_the_minimum() {
        let e = check_policy("zq7x!").unwrap_err().to_string();
        assert!(e.contains("at least 8 characters"), "{e}");
        assert!(!e.contains("zq7x"), "must not echo the password: {e}");
        check_policy("12345678").unwrap();
        // Characters, not bytes.
        assert!(check_policy("ääääääää").is_ok());
        assert!(check_policy("äääääää").is_err());
        assert!(check_policy(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(hash(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
