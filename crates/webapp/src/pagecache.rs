//! Rendered Web Service folder pages, keyed by (user, path, host, vdir) and valid for one
//! catalog generation.
//!
//! The folder page depends on the catalog (items, dates, role assignments) and on nothing
//! else but the key: the generation check makes every change in the catalog (by this
//! process or another node) invalidate all pages at once. Bounded; no I/O.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

/// Most pages kept (a page is a few KiB; this bounds the cache to a few tens of MiB).
const CAPACITY: usize = 4096;

#[derive(Debug, Default)]
pub(crate) struct PageCache {
    inner: Mutex<Pages>,
}

#[derive(Debug, Default)]
struct Pages {
    generation: i64,
    pages: HashMap<String, Bytes>,
}

/// The cache key: fields joined by NUL, which none of them can contain (paths and user
/// names refuse control characters; Host and vdir come from parsed headers and config).
pub(crate) fn key(user_lower: &str, path_key: &str, host: &str, vdir: &str) -> String {
    let mut k =
        String::with_capacity(user_lower.len() + path_key.len() + host.len() + vdir.len() + 3);
    for (i, part) in [user_lower, path_key, host, vdir].into_iter().enumerate() {
        if i > 0 {
            k.push('\0');
        }
        k.push_str(part);
    }
    k
}

impl PageCache {
    pub(crate) fn get(&self, generation: i64, key: &str) -> Option<Bytes> {
        let p = self.lock();
        if p.generation != generation {
            return None;
        }
        p.pages.get(key).cloned()
    }

    pub(crate) fn insert(&self, generation: i64, key: String, page: Bytes) {
        let mut p = self.lock();
        if p.generation != generation {
            // Generations only grow; a page rendered from an older snapshot is not kept.
            if generation < p.generation {
                return;
            }
            p.generation = generation;
            p.pages.clear();
        }
        if p.pages.len() >= CAPACITY {
            p.pages.clear();
        }
        p.pages.insert(key, page);
    }

    pub(crate) fn clear(&self) {
        let mut p = self.lock();
        p.pages.clear();
        p.generation = i64::MIN;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pages> {
        // Each operation is a single map call: a poisoned lock leaves a consistent map.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_generation_invalidates() {
        let c = PageCache::default();
        let k = key("alice", "/sales", "h", "ReportServer");
        c.insert(3, k.clone(), Bytes::from_static(b"page"));
        assert_eq!(c.get(3, &k).unwrap(), "page");
        assert!(c.get(4, &k).is_none());
        c.insert(4, key("bob", "/", "h", "v"), Bytes::from_static(b"x"));
        assert!(c.get(3, &k).is_none());
        c.insert(3, k.clone(), Bytes::from_static(b"old"));
        assert!(c.get(4, &k).is_none(), "older generation not stored");
    }
}
