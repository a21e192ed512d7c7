//! The verified-credential cache: lets HTTP Basic skip the password KDF (argon2id, tens of
//! milliseconds and ~19 MiB by design) on every request of a signed-in user.
//!
//! An entry maps a user name (lowercased) to a keyed digest of the name and password
//! (HMAC-SHA256 under the instance key), the catalog generation at which the password was
//! verified, an expiry ([`TTL`]) and the resolved [`Principal`]. A hit needs the same
//! digest (compared in constant time), the same generation — so a password change, a role
//! change or a removed user invalidates every entry at once — and an unexpired entry.
//! Failed verifications are never cached. The map is bounded ([`CAPACITY`]).
//!
//! The cache never holds a password, and its `Debug` shows no digest. It does no I/O and
//! knows nothing of HTTP; `benches/auth.rs` measures it against a real verification.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use catalog::Role;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// How long a verified credential is trusted without running the KDF again.
pub const TTL: Duration = Duration::from_secs(5 * 60);
/// Most entries kept: bounds memory when many users (or many guessed names) sign in.
pub const CAPACITY: usize = 10_000;

/// A signed-in user: the name as stored in the catalog and the user's system roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub system_roles: Vec<Role>,
}

impl Principal {
    pub fn is_system_admin(&self) -> bool {
        self.system_roles.contains(&Role::SystemAdministrator)
    }
}

struct Entry {
    digest: [u8; 32],
    generation: i64,
    expires: Instant,
    principal: Arc<Principal>,
}

/// See the module documentation.
pub struct CredentialCache {
    key: Zeroizing<[u8; 32]>,
    /// One lock for the map: held only for a lookup or an insert (no I/O, no KDF inside),
    /// so contention costs far less than the digest computed outside it.
    map: Mutex<HashMap<String, Entry>>,
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialCache")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    /// A cache whose digests are keyed by `key` (the instance key).
    pub fn new(key: &[u8; 32]) -> Self {
        CredentialCache {
            key: Zeroizing::new(*key),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// HMAC-SHA256(key, len(name) || name || password): the name is length-prefixed so
    /// that no (name, password) pair collides with another.
    fn digest(&self, name_lower: &str, password: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key[..])
            .expect("HMAC-SHA256 accepts keys of any length");
        mac.update(&(name_lower.len() as u64).to_be_bytes());
        mac.update(name_lower.as_bytes());
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The principal for `name`/`password` if they were verified at `generation` less than
    /// [`TTL`] ago.
    pub fn get(&self, name: &str, password: &str, generation: i64) -> Option<Arc<Principal>> {
        let lower = name.to_lowercase();
        let digest = self.digest(&lower, password);
        let map = self.lock();
        let e = map.get(&lower)?;
        let fresh = e.generation == generation && e.expires > Instant::now();
        // Constant-time on the digest; the other checks reveal nothing about the password.
        if fresh && bool::from(e.digest.ct_eq(&digest)) {
            Some(e.principal.clone())
        } else {
            None
        }
    }

    /// Records that `name`/`password` verified at `generation`. Call only after a
    /// successful verification.
    pub fn insert(&self, name: &str, password: &str, generation: i64, principal: Arc<Principal>) {
        let lower = name.to_lowercase();
        let entry = Entry {
            digest: self.digest(&lower, password),
            generation,
            expires: Instant::now() + TTL,
            principal,
        };
        let mut map = self.lock();
        if map.len() >= CAPACITY && !map.contains_key(&lower) {
            let now = Instant::now();
            map.retain(|_, e| e.generation == generation && e.expires > now);
            if map.len() >= CAPACITY {
                // Still full of live entries: drop an arbitrary one. The evicted user pays
                // one KDF on their next request; memory stays bounded.
                if let Some(k) = map.keys().next().cloned() {
                    map.remove(&k);
                }
            }
        }
        map.insert(lower, entry);
    }

    /// Forgets every entry (the catalog was replaced).
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave the map inconsistent (each operation
        // is a single HashMap call), so a poisoned lock is still usable.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str) -> Arc<Principal> {
        Arc::new(Principal {
            name: name.into(),
            system_roles: vec![],
        })
    }

    #[test]
    fn hit_needs_same_password_and_generation() {
        let c = CredentialCache::new(&[7; 32]);
        assert!(c.get("Alice", "pw", 1).is_none());
        c.insert("Alice", "pw", 1, p("Alice"));
        assert_eq!(c.get("alice", "pw", 1).unwrap().name, "Alice");
        assert!(c.get("alice", "pw2", 1).is_none(), "other password");
        assert!(c.get("alice", "pw", 2).is_none(), "catalog changed");
        assert!(c.get("bob", "pw", 1).is_none());
    }

    #[test]
    fn size_is_bounded() {
        let c = CredentialCache::new(&[1; 32]);
        for i in 0..CAPACITY + 50 {
            c.insert(&format!("u{i}"), "pw", 1, p("u"));
        }
        assert!(c.len() <= CAPACITY);
        // A newer generation evicts all stale entries at once.
        c.insert("new", "pw", 2, p("new"));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn debug_shows_no_digest() {
        let c = CredentialCache::new(&[1; 32]);
        c.insert("a", "secret", 1, p("a"));
        let d = format!("{c:?}");
        assert!(d.contains("entries: 1") && !d.contains("digest"), "{d}");
    }
}
