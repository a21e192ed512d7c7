//! What a sign-in that misses the credential cache costs, and the bounds on it: the
//! password KDF workers, the per-name sign-in gates, the failure throttle and the timing of
//! unknown user names. [`crate::auth`] decides the order; this module owns the state.
//!
//! - **KDF workers** ([`KdfPool`]): argon2id runs on [`KdfPool::workers`] dedicated threads,
//!   each job holding a semaphore permit *until the hash finishes*. A request that is
//!   cancelled while its hash runs (a client that hangs up) leaves at most that many hashes
//!   running, so memory for hashes is bounded by `workers × 19 MiB` (see
//!   [`KDF_MEMORY_BUDGET`]). Each worker computes its hashes in one reused
//!   [`catalog::password::KdfMemory`]: dedicated threads rather than `spawn_blocking`,
//!   because a fresh 19 MiB per hash is kept by the allocator's per-thread arenas (measured:
//!   RSS +118 MB after five hashes), and the blocking pool spreads hashes over many threads.
//! - **Gates** ([`Gates`]): concurrent first requests of one user name wait for one
//!   verification, then find it cached. At most [`MAX_GATES`] names at once; an entry lives
//!   exactly as long as a request holds it (RAII, so a cancelled request leaks nothing).
//! - **Throttle** ([`Throttle`]): failed attempts are counted per user name and per source
//!   address (IPv6 per /64). Each attempt is *charged before* it is verified (so a burst of
//!   concurrent attempts sees its own count) and refunded when it succeeds. Attempt `n ≥ 3`
//!   of a name waits `250 ms × 2^(n-3)` first (two are free), up to [`MAX_DELAY`]; the
//!   `SignInMaxFailures`-th locks the name for `SignInLockoutSeconds` (429 with
//!   `Retry-After`). Addresses get four times the allowance, the first half free. Counts are
//!   forgotten `SignInLockoutSeconds` after the last attempt. The cache is consulted before
//!   any of this, so a user whose credential is cached is served while their name is locked.
//! - **Unknown names** ([`Timing`]): a name that is not in the catalog gets no hash; it is
//!   answered after the median duration of the recent real verifications (queueing for a
//!   permit included), so response times do not tell which names exist. Until a few
//!   verifications have been timed, it is verified against a dummy hash instead.
//!
//! Every table is bounded in entries, and every key in bytes (names are cut to
//! [`MAX_NAME_KEY_CHARS`] characters, longer than any catalog user name), so together they
//! hold at most a few MiB whatever clients send. No I/O here, no logging of secrets.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex, mpsc};
use std::time::{Duration, Instant};

use catalog::password::KdfMemory;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use zeroize::Zeroizing;

use crate::Error;

/// Memory allowed for concurrent argon2id hashes (19 MiB each): bounds the worker count on
/// machines with many cores.
pub const KDF_MEMORY_BUDGET: usize = 128 << 20;
/// Memory of one hash with the catalog's parameters (m = 19456 KiB).
const KDF_MEMORY: usize = 19 << 20;
/// Most names being signed in at once (gates); past it a new name waits (429, 1 s).
pub const MAX_GATES: usize = 4096;
/// Most user names and most addresses the throttle remembers.
pub const MAX_THROTTLED: usize = 4096;
/// Longest key of a name: catalog user names are at most 256 characters.
pub const MAX_NAME_KEY_CHARS: usize = 256;
/// First delay of the exponential schedule.
const BASE_DELAY: Duration = Duration::from_millis(250);
/// Longest delay before an attempt (past it the lockout takes over).
pub const MAX_DELAY: Duration = Duration::from_secs(4);
/// Address allowance as a multiple of the name allowance.
const ADDRESS_FACTOR: u32 = 4;
/// Verification durations kept for the unknown-name delay.
const SAMPLES: usize = 32;
/// Timed verifications needed before unknown names are answered by a delay alone.
const MIN_SAMPLES: usize = 4;

/// The throttle settings, from `reportd.toml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub max_failures: u32,
    pub lockout: Duration,
}

impl Policy {
    pub fn of(settings: &datadir::Settings) -> Policy {
        Policy {
            max_failures: settings.sign_in_max_failures.max(1),
            lockout: Duration::from_secs(u64::from(settings.sign_in_lockout_seconds.max(1))),
        }
    }
}

/// The throttle key of a user name: lowercased, cut to [`MAX_NAME_KEY_CHARS`].
pub fn name_key(name: &str) -> String {
    name.chars()
        .take(MAX_NAME_KEY_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

/// The throttle key of an address: IPv4 as is (also when IPv4-mapped), IPv6 per /64 (one
/// host usually holds a whole /64).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

/// Counters for tests and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignInStats {
    /// Hashes run since start (real and dummy verifications, and hashes of new passwords).
    pub kdf_runs: u64,
    /// Hashes running now, and the most ever running at once.
    pub kdf_in_flight: usize,
    pub kdf_peak: usize,
    /// The bound on both.
    pub kdf_workers: usize,
    /// Names being signed in now (gates held).
    pub gates: usize,
    /// Names and addresses the throttle remembers now.
    pub throttled_names: usize,
    pub throttled_addresses: usize,
}

/// All of it, one per [`crate::AppState`].
pub(crate) struct SignIn {
    kdf: KdfPool,
    gates: Gates,
    throttle: StdMutex<Throttle>,
    timing: StdMutex<Timing>,
}

impl SignIn {
    pub(crate) fn new() -> Result<SignIn, Error> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = cores.clamp(1, (KDF_MEMORY_BUDGET / KDF_MEMORY).max(1));
        Ok(SignIn {
            kdf: KdfPool::new(workers)?,
            gates: Gates::default(),
            throttle: StdMutex::new(Throttle::default()),
            timing: StdMutex::new(Timing::default()),
        })
    }

    pub(crate) fn stats(&self) -> SignInStats {
        let t = lock(&self.throttle);
        SignInStats {
            kdf_runs: self.kdf.runs.load(Ordering::Relaxed),
            kdf_in_flight: self.kdf.in_flight.load(Ordering::Relaxed),
            kdf_peak: self.kdf.peak.load(Ordering::Relaxed),
            kdf_workers: self.kdf.workers,
            gates: self.gates.len(),
            throttled_names: t.names.len(),
            throttled_addresses: t.addresses.len(),
        }
    }

    /// How long `name`/`addr` must still wait, when either is locked out now.
    pub(crate) fn locked(&self, name: &str, addr: IpAddr, policy: &Policy) -> Option<Duration> {
        lock(&self.throttle).locked(name, addr, policy, Instant::now())
    }

    /// Charges one attempt to `name` and `addr`: `Ok(delay to wait before verifying)`, or
    /// `Err(wait)` when either is locked out (nothing charged).
    pub(crate) fn begin(
        &self,
        name: &str,
        addr: IpAddr,
        policy: &Policy,
    ) -> Result<Duration, Duration> {
        lock(&self.throttle).begin(name, addr, policy, Instant::now())
    }

    /// Settles a charged attempt that did not fail: a success forgets the name's failures
    /// and refunds the address; `success == false` (the database failed, no verdict) only
    /// refunds both.
    pub(crate) fn refund(&self, name: &str, addr: IpAddr, success: bool, policy: &Policy) {
        lock(&self.throttle).refund(name, addr, success, policy);
    }

    /// The gate of `name`; None when [`MAX_GATES`] names are being signed in.
    pub(crate) fn gate(&self, name: &str) -> Option<GateRef<'_>> {
        self.gates.enter(name)
    }

    /// Verifies `password` against `hash`, or for an unknown user (`None`) spends the same
    /// time without a hash (see the module documentation). Cancel-safe: a hash that has
    /// started finishes on its worker, holding its permit.
    pub(crate) async fn check_password(
        &self,
        hash: Option<String>,
        password: &Zeroizing<String>,
    ) -> Result<bool, Error> {
        let started = Instant::now();
        let password = password.clone();
        match hash {
            Some(h) => {
                let ok = self
                    .kdf
                    .run(move |mem| catalog::password::verify_with(&password, &h, mem))
                    .await?;
                lock(&self.timing).record(started.elapsed());
                Ok(ok)
            }
            None => {
                let median = lock(&self.timing).median();
                match median {
                    Some(d) => tokio::time::sleep(d).await,
                    None => {
                        self.kdf
                            .run(move |mem| catalog::password::verify_nothing_with(&password, mem))
                            .await?;
                        lock(&self.timing).record(started.elapsed());
                    }
                }
                Ok(false)
            }
        }
    }

    /// Hashes a new password on the KDF workers (under the same bound as verifications).
    pub(crate) async fn hash_password(
        &self,
        password: &Zeroizing<String>,
    ) -> Result<String, Error> {
        let password = password.clone();
        self.kdf
            .run(move |mem| catalog::password::hash_with(&password, mem))
            .await?
            .map_err(Error::from)
    }
}

/// A poisoned lock only means a panic elsewhere while it was held; every table here stays
/// consistent between single operations, so keep using it.
fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------------------------------
// KDF workers

type Work = Box<dyn FnOnce(&mut KdfMemory) + Send>;

/// A job and the permit it holds until it has run.
struct Job {
    work: Work,
    _permit: OwnedSemaphorePermit,
}

/// See the module documentation.
struct KdfPool {
    workers: usize,
    permits: Arc<Semaphore>,
    /// Dropping it (with the state) ends the workers.
    jobs: mpsc::Sender<Job>,
    runs: AtomicU64,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl KdfPool {
    fn new(workers: usize) -> Result<KdfPool, Error> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(StdMutex::new(rx));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        for i in 0..workers {
            let rx = rx.clone();
            let in_flight = in_flight.clone();
            let peak = peak.clone();
            std::thread::Builder::new()
                .name(format!("reportd-kdf-{i}"))
                .spawn(move || {
                    let mut memory = KdfMemory::default();
                    loop {
                        // The receiver's lock is held only while waiting for the next job.
                        let next = lock(&rx).recv();
                        let Ok(job) = next else { return };
                        let now = in_flight.fetch_add(1, Ordering::AcqRel) + 1;
                        peak.fetch_max(now, Ordering::AcqRel);
                        // A panicking hash must not take the worker with it; its caller
                        // sees a closed channel.
                        let work = job.work;
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| work(&mut memory)));
                        in_flight.fetch_sub(1, Ordering::AcqRel);
                        // `job._permit` is released here, after the hash.
                    }
                })
                .map_err(|e| Error::Internal(format!("cannot start a KDF worker: {e}")))?;
        }
        Ok(KdfPool {
            workers,
            permits: Arc::new(Semaphore::new(workers)),
            jobs: tx,
            runs: AtomicU64::new(0),
            in_flight,
            peak,
        })
    }

    /// Runs `f` on a worker once a permit is free. Waiting for the permit is cancel-safe;
    /// once queued, the job runs to the end whether or not anyone awaits it.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut KdfMemory) -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(format!("KDF semaphore closed: {e}")))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.jobs
            .send(Job {
                work: Box::new(move |mem| {
                    let _ = tx.send(f(mem));
                }),
                _permit: permit,
            })
            .map_err(|_| Error::Internal("the KDF workers stopped".into()))?;
        rx.await
            .map_err(|_| Error::Internal("a password hash failed on its worker".into()))
    }
}

// ---------------------------------------------------------------------------------------
// Gates

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Gates {
    map: StdMutex<HashMap<String, Arc<Mutex<()>>>>,
}

/// A held reference to one name's gate; lock it with [`GateRef::turn`]. Dropping the last
/// reference removes the gate from the table.
pub(crate) struct GateRef<'a> {
    gates: &'a Gates,
    key: String,
    gate: Arc<Mutex<()>>,
}

impl Gates {
    fn enter(&self, key: &str) -> Option<GateRef<'_>> {
        let mut map = lock(&self.map);
        let gate = match map.get(key) {
            Some(g) => g.clone(),
            None if map.len() >= MAX_GATES => return None,
            None => {
                let g = Arc::new(Mutex::new(()));
                map.insert(key.to_owned(), g.clone());
                g
            }
        };
        Some(GateRef {
            gates: self,
            key: key.to_owned(),
            gate,
        })
    }

    fn len(&self) -> usize {
        lock(&self.map).len()
    }
}

impl GateRef<'_> {
    /// Waits for this name's turn (cancel-safe).
    pub(crate) async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.gate.lock().await
    }
}

impl Drop for GateRef<'_> {
    fn drop(&mut self) {
        let mut map = lock(&self.gates.map);
        // Clones are only made under the map lock: ours and the map's mean nobody else
        // holds the gate.
        if Arc::strong_count(&self.gate) <= 2 {
            map.remove(&self.key);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Throttle

#[derive(Clone, Copy, Debug)]
struct Counter {
    /// Attempts charged and not refunded.
    count: u32,
    /// Locked out until then.
    locked_until: Option<Instant>,
    /// Forgotten after then.
    expires: Instant,
}

/// A bounded table of counters.
struct Table<K> {
    map: HashMap<K, Counter>,
}

impl<K> Default for Table<K> {
    fn default() -> Self {
        Table {
            map: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    fn len(&self) -> usize {
        self.map.len()
    }

    /// The live counter of `key` (an expired one is dropped).
    fn get(&mut self, key: &K, now: Instant) -> Option<Counter> {
        match self.map.get(key) {
            Some(c) if c.expires > now => Some(*c),
            Some(_) => {
                self.map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `c` for `key`, making room when full: expired entries go first, then the
    /// one closest to expiry that is not locked out.
    fn put(&mut self, key: K, c: Counter, now: Instant) {
        if !self.map.contains_key(&key) && self.map.len() >= MAX_THROTTLED {
            self.map.retain(|_, c| c.expires > now);
            if self.map.len() >= MAX_THROTTLED {
                let victim = self
                    .map
                    .iter()
                    .min_by_key(|(_, c)| (c.locked_until.is_some(), c.expires))
                    .map(|(k, _)| k.clone());
                if let Some(v) = victim {
                    self.map.remove(&v);
                }
            }
        }
        self.map.insert(key, c);
    }
}

/// See the module documentation.
#[derive(Default)]
struct Throttle {
    names: Table<String>,
    addresses: Table<IpAddr>,
}

/// How long attempt number `prior + 1` waits, `free` attempts being free.
fn delay_for(prior: u32, free: u32) -> Duration {
    if prior <= free {
        return Duration::ZERO;
    }
    let doublings = (prior - free - 1).min(16);
    BASE_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

fn remaining(c: Option<Counter>, now: Instant) -> Option<Duration> {
    c?.locked_until
        .filter(|t| *t > now)
        .map(|t| t.duration_since(now))
}

impl Throttle {
    fn locked(&mut self, name: &str, addr: IpAddr, _p: &Policy, now: Instant) -> Option<Duration> {
        let by_name = remaining(self.names.get(&name.to_owned(), now), now);
        let by_addr = remaining(self.addresses.get(&addr, now), now);
        by_name.max(by_addr)
    }

    fn begin(
        &mut self,
        name: &str,
        addr: IpAddr,
        p: &Policy,
        now: Instant,
    ) -> Result<Duration, Duration> {
        let name = name.to_owned();
        let n = self.names.get(&name, now);
        let a = self.addresses.get(&addr, now);
        if let Some(wait) = remaining(n, now).max(remaining(a, now)) {
            return Err(wait);
        }
        let addr_max = p.max_failures.saturating_mul(ADDRESS_FACTOR);
        let n_prior = n.map_or(0, |c| c.count);
        let a_prior = a.map_or(0, |c| c.count);
        let delay = delay_for(n_prior, 1).max(delay_for(a_prior, addr_max / 2));
        let charge = |prior: u32, max: u32| {
            let count = prior.saturating_add(1);
            Counter {
                count,
                locked_until: (count >= max).then_some(now + p.lockout),
                expires: now + p.lockout,
            }
        };
        let nc = charge(n_prior, p.max_failures);
        let ac = charge(a_prior, addr_max);
        if nc.locked_until.is_some() {
            tracing::warn!(
                user = %httpsys::logsafe::escape(&name, httpsys::logsafe::DEFAULT_MAX),
                seconds = p.lockout.as_secs(),
                "sign-in: user name locked out after {} failed attempts", nc.count
            );
        }
        if ac.locked_until.is_some() && a.is_none_or(|c| c.locked_until.is_none()) {
            tracing::warn!(peer = %addr, seconds = p.lockout.as_secs(),
                "sign-in: address locked out after {} failed attempts", ac.count);
        }
        self.names.put(name, nc, now);
        self.addresses.put(addr, ac, now);
        // An attempt that locks waits like the others; the next one is refused.
        Ok(delay)
    }

    fn refund(&mut self, name: &str, addr: IpAddr, success: bool, p: &Policy) {
        let name = name.to_owned();
        if success {
            self.names.map.remove(&name);
        } else if let Some(c) = self.names.map.get_mut(&name) {
            c.count = c.count.saturating_sub(1);
            if c.count < p.max_failures {
                c.locked_until = None;
            }
        }
        if let Some(c) = self.addresses.map.get_mut(&addr) {
            c.count = c.count.saturating_sub(1);
            if c.count < p.max_failures.saturating_mul(ADDRESS_FACTOR) {
                c.locked_until = None;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Timing of unknown names

#[derive(Default)]
struct Timing {
    recent: VecDeque<Duration>,
}

impl Timing {
    fn record(&mut self, d: Duration) {
        if self.recent.len() >= SAMPLES {
            self.recent.pop_front();
        }
        self.recent.push_back(d);
    }

    fn median(&self) -> Option<Duration> {
        if self.recent.len() < MIN_SAMPLES {
            return None;
        }
        let mut v: Vec<Duration> = self.recent.iter().copied().collect();
        v.sort_unstable();
        Some(v[v.len() / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            max_failures: 5,
            lockout: Duration::from_secs(60),
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn delays_double_then_the_name_locks() {
        let mut t = Throttle::default();
        let p = policy();
        let now = Instant::now();
        let delays: Vec<_> = (0..5)
            .map(|_| t.begin("admin", A, &p, now).unwrap())
            .collect();
        assert_eq!(
            delays,
            [0, 0, 250, 500, 1000].map(Duration::from_millis),
            "first two free, then doubling"
        );
        let wait = t.begin("admin", A, &p, now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(60));
        assert_eq!(t.locked("admin", A, &p, now), Some(Duration::from_secs(60)));
        // Another name from the same address is not locked by the name.
        assert!(t.begin("bob", A, &p, now).is_ok());
        // After the lockout everything is forgotten.
        let later = now + Duration::from_secs(61);
        assert_eq!(t.locked("admin", A, &p, later), None);
        assert_eq!(t.begin("admin", A, &p, later), Ok(Duration::ZERO));
    }

    #[test]
    fn addresses_get_four_times_the_allowance() {
        let mut t = Throttle::default();
        let p = policy();
        let now = Instant::now();
        for i in 0..20 {
            assert!(t.begin(&format!("u{i}"), A, &p, now).is_ok(), "attempt {i}");
        }
        assert!(t.begin("fresh", A, &p, now).is_err(), "address locked");
        let other = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));
        assert!(t.begin("fresh", other, &p, now).is_ok());
    }

    #[test]
    fn success_refunds() {
        let mut t = Throttle::default();
        let p = policy();
        let now = Instant::now();
        for _ in 0..4 {
            t.begin("admin", A, &p, now).unwrap();
        }
        t.begin("admin", A, &p, now).unwrap();
        t.refund("admin", A, true, &p);
        assert_eq!(t.locked("admin", A, &p, now), None);
        assert_eq!(t.names.len(), 0);
        assert_eq!(t.addresses.map[&A].count, 4);
    }

    #[test]
    fn tables_are_bounded() {
        let mut t = Throttle::default();
        let p = policy();
        let now = Instant::now();
        t.begin("admin", A, &p, now).unwrap();
        for i in 0..(MAX_THROTTLED as u32 + 100) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let _ = t.begin(&format!("n{i}"), ip, &p, now);
        }
        assert!(t.names.len() <= MAX_THROTTLED);
        assert!(t.addresses.len() <= MAX_THROTTLED);
    }

    #[test]
    fn keys_are_bounded_and_v6_per_64() {
        assert_eq!(
            name_key(&"Ä".repeat(1000)).chars().count(),
            MAX_NAME_KEY_CHARS
        );
        assert_eq!(name_key("Admin"), "admin");
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(address_key(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let m: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(address_key(m), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[tokio::test]
    async fn gates_leave_nothing_behind_when_cancelled() {
        let s = SignIn::new().unwrap();
        let g = s.gate("a").unwrap();
        let held = g.turn().await;
        let waiter = async {
            let g2 = s.gate("a").unwrap();
            let _t = g2.turn().await;
        };
        // The waiter is dropped while waiting.
        assert!(
            tokio::time::timeout(Duration::from_millis(20), waiter)
                .await
                .is_err()
        );
        assert_eq!(s.stats().gates, 1);
        drop(held);
        drop(g);
        assert_eq!(s.stats().gates, 0);
    }

    #[tokio::test]
    async fn cancelled_hashes_keep_their_permit_until_done() {
        let s = SignIn::new().unwrap();
        let hash = catalog::password::hash("some password").unwrap();
        let pw = Zeroizing::new("wrong password".to_owned());
        let workers = s.stats().kdf_workers;
        for _ in 0..workers * 4 {
            let f = s.check_password(Some(hash.clone()), &pw);
            let _ = tokio::time::timeout(Duration::from_millis(1), f).await;
        }
        // Every started hash finishes; never more than the workers at once.
        let st = s.stats();
        assert!(st.kdf_peak <= workers, "{st:?}");
        let t0 = Instant::now();
        while s.stats().kdf_in_flight > 0 && t0.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(s.stats().kdf_in_flight, 0);
        assert_eq!(s.kdf.permits.available_permits(), workers);
    }

    #[test]
    fn median_needs_samples() {
        let mut t = Timing::default();
        for ms in [10, 50, 20] {
            t.record(Duration::from_millis(ms));
        }
        assert_eq!(t.median(), None);
        t.record(Duration::from_millis(30));
        assert_eq!(t.median(), Some(Duration::from_millis(30)));
        for _ in 0..100 {
            t.record(Duration::from_millis(5));
        }
        assert_eq!(t.recent.len(), SAMPLES);
    }
}
