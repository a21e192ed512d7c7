//! Caches of report processing, each bounded in bytes and by age:
//! - parsed and compiled reports per (path, catalog generation): a report is parsed once per
//!   generation;
//! - **executions** per (user, report path, parameter values, catalog generation): the data
//!   its queries returned, the resolved parameters and the fixed `ExecutionTime`, kept for a
//!   few minutes so that turning pages and exporting reuse them (SSRS's session).
//!
//! Sizes are estimates (the values' payloads plus a per-value overhead); an entry larger
//! than a quarter of the cap is not kept. Must not: do I/O.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an execution is reused.
pub(crate) const EXECUTION_TTL: Duration = Duration::from_secs(5 * 60);
/// Bytes all executions may hold together.
pub(crate) const EXECUTION_CACHE_BYTES: usize = 256 << 20;
/// Bytes all compiled reports may hold together (estimated from their definitions).
pub(crate) const COMPILED_CACHE_BYTES: usize = 128 << 20;

/// One execution: what a page turn or an export needs besides the compiled report.
#[derive(Debug)]
pub(crate) struct Execution {
    /// The resolved parameters.
    pub params: engine::ResolvedParams,
    /// The data sets' rows by data set name.
    pub tables: HashMap<String, Arc<engine::DataTable>>,
    /// `Globals!ExecutionTime`, fixed for the execution.
    pub execution_time: time::PrimitiveDateTime,
    /// Rows of subreport queries fetched by renders of this execution, by
    /// [`super::subreports`]' key, and their estimated bytes.
    pub subreport_rows: Mutex<(usize, HashMap<String, Arc<engine::DataTable>>)>,
}

impl Execution {
    /// An execution of `params` over `tables`, run at `execution_time`.
    pub(crate) fn new(
        params: engine::ResolvedParams,
        tables: HashMap<String, Arc<engine::DataTable>>,
        execution_time: time::PrimitiveDateTime,
    ) -> Execution {
        Execution {
            params,
            tables,
            execution_time,
            subreport_rows: Mutex::new((0, HashMap::new())),
        }
    }

    /// Estimated bytes held (the main data sets; subreport rows are bounded on their own).
    pub(crate) fn size(&self) -> usize {
        let mut n = 256;
        for (name, t) in &self.tables {
            n += name.len() + 64 + table_size(t);
        }
        n
    }

    /// Subreport rows kept under `key`.
    pub(crate) fn subreport_rows(&self, key: &str) -> Option<Arc<engine::DataTable>> {
        let g = self
            .subreport_rows
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        g.1.get(key).cloned()
    }

    /// Keeps subreport rows under `key` while all kept stay under `cap` bytes.
    pub(crate) fn keep_subreport_rows(&self, key: String, t: Arc<engine::DataTable>, cap: usize) {
        let size = key.len() + 64 + table_size(&t);
        let mut g = self
            .subreport_rows
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if g.0 + size <= cap && !g.1.contains_key(&key) {
            g.0 += size;
            g.1.insert(key, t);
        }
    }
}

fn table_size(t: &engine::DataTable) -> usize {
    t.heap_size()
}

struct Entry<V> {
    value: Arc<V>,
    size: usize,
    at: Instant,
}

struct Inner<K, V> {
    map: HashMap<K, Entry<V>>,
    bytes: usize,
}

/// A map bounded in bytes and by age; the oldest entries go first.
pub(crate) struct ByteCache<K, V> {
    inner: Mutex<Inner<K, V>>,
    cap: usize,
    ttl: Duration,
}

impl<K: Eq + Hash + Clone, V> ByteCache<K, V> {
    /// A cache of at most `cap` bytes whose entries live `ttl`.
    pub(crate) fn new(cap: usize, ttl: Duration) -> Self {
        ByteCache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                bytes: 0,
            }),
            cap,
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A poisoned lock only means another thread panicked while holding it; the map is
        // still consistent (every mutation below is a single insert/remove).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live entry for `key`.
    pub(crate) fn get(&self, key: &K) -> Option<Arc<V>> {
        let mut g = self.lock();
        let expired = match g.map.get(key) {
            None => return None,
            Some(e) => e.at.elapsed() > self.ttl,
        };
        if expired {
            if let Some(e) = g.map.remove(key) {
                g.bytes -= e.size;
            }
            return None;
        }
        g.map.get(key).map(|e| e.value.clone())
    }

    /// Keeps `value` (of about `size` bytes) unless it is larger than a quarter of the cap.
    pub(crate) fn insert(&self, key: K, value: Arc<V>, size: usize) {
        if size > self.cap / 4 {
            return;
        }
        let mut g = self.lock();
        if let Some(old) = g.map.remove(&key) {
            g.bytes -= old.size;
        }
        let ttl = self.ttl;
        let expired: Vec<K> = g
            .map
            .iter()
            .filter(|(_, e)| e.at.elapsed() > ttl)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            if let Some(e) = g.map.remove(&k) {
                g.bytes -= e.size;
            }
        }
        while g.bytes + size > self.cap {
            let Some(oldest) = g
                .map
                .iter()
                .min_by_key(|(_, e)| e.at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = g.map.remove(&oldest) {
                g.bytes -= e.size;
            }
        }
        g.bytes += size;
        g.map.insert(
            key,
            Entry {
                value,
                size,
                at: Instant::now(),
            },
        );
    }

    /// (entries, bytes) now.
    #[cfg(test)]
    pub(crate) fn stats(&self) -> (usize, usize) {
        let g = self.lock();
        (g.map.len(), g.bytes)
    }
}

/// The key of an execution.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ExecutionKey {
    /// The user (lower case).
    pub user: String,
    /// The report's path key.
    pub path: String,
    /// [`super::urlaccess::RenderRequest::param_key`].
    pub params: String,
    /// The catalog generation.
    pub generation: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_bytes_oldest_first() {
        let c: ByteCache<u32, u32> = ByteCache::new(1000, Duration::from_secs(60));
        for i in 0..10 {
            c.insert(i, Arc::new(i), 200);
        }
        let (n, bytes) = c.stats();
        assert!(bytes <= 1000 && n == 5, "{n} {bytes}");
        assert!(c.get(&0).is_none());
        assert_eq!(c.get(&9).as_deref(), Some(&9));
        c.insert(100, Arc::new(1), 251); // over a quarter: not kept
        assert!(c.get(&100).is_none());
    }

    #[test]
    fn entries_expire() {
        let c: ByteCache<u32, u32> = ByteCache::new(1000, Duration::from_millis(1));
        c.insert(1, Arc::new(1), 10);
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.get(&1).is_none());
        assert_eq!(c.stats(), (0, 0));
    }
}
