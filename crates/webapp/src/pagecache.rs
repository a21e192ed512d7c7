//! Rendered Web Service folder pages, keyed by (user, path, vdir) and valid for one
//! catalog generation, capped in bytes.
//!
//! The folder page depends on the catalog (items, dates, role assignments), on the key,
//! and on the host the client named, which the page shows in its heading. The host is not
//! part of the key: a page is stored as a [`Template`] cut where the host goes, and the
//! (validated, escaped) host is put in when it is served. So varying Host headers cannot
//! grow the cache, and nothing the client sent selects what is stored. The generation
//! check makes every change in the catalog (by this process or another node) invalidate
//! all pages at once.
//!
//! Bounded by [`CAPACITY_BYTES`] (keys, pages and a per-entry overhead): when full, the
//! oldest pages go first. No I/O.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};

/// Most bytes the cache holds (pages, keys, bookkeeping).
pub(crate) const CAPACITY_BYTES: usize = 32 * 1024 * 1024;

/// What an entry costs beyond its key and page (map slot, queue slot, `Arc`, lengths).
const ENTRY_OVERHEAD: usize = 128;

/// Where the host goes in a rendered page. A page never holds a NUL otherwise: item names
/// and users refuse control characters, and the rest is our own markup.
pub(crate) const HOST_MARK: &str = "\u{0}";

/// A page cut at each [`HOST_MARK`]: `parts[0] host parts[1] host ... parts[n]`.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    parts: Arc<[Bytes]>,
}

impl Template {
    /// Cuts a page rendered with [`HOST_MARK`] in place of the host.
    pub(crate) fn new(page: &str) -> Template {
        let parts: Vec<Bytes> = page
            .split(HOST_MARK)
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect();
        Template {
            parts: parts.into(),
        }
    }

    /// The page for `escaped_host` (already HTML-escaped).
    pub(crate) fn render(&self, escaped_host: &str) -> Bytes {
        let holes = self.parts.len().saturating_sub(1);
        let mut out = BytesMut::with_capacity(self.len() + holes * escaped_host.len());
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(escaped_host.as_bytes());
            }
            out.extend_from_slice(p);
        }
        out.freeze()
    }

    fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }
}

#[derive(Debug)]
pub(crate) struct PageCache {
    inner: Mutex<Pages>,
    capacity: usize,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::with_capacity(CAPACITY_BYTES)
    }
}

#[derive(Debug, Default)]
struct Pages {
    generation: i64,
    pages: HashMap<String, Template>,
    /// Keys in insertion order (exactly the keys of `pages`), oldest first.
    order: VecDeque<String>,
    bytes: usize,
}

impl Pages {
    fn clear(&mut self) {
        self.pages.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

fn cost(key: &str, page: &Template) -> usize {
    key.len() + page.len() + ENTRY_OVERHEAD
}

/// The cache key: fields joined by NUL, which none of them can contain (paths and user
/// names refuse control characters; the vdir comes from the configuration).
pub(crate) fn key(user_lower: &str, path_key: &str, vdir: &str) -> String {
    let mut k = String::with_capacity(user_lower.len() + path_key.len() + vdir.len() + 2);
    for (i, part) in [user_lower, path_key, vdir].into_iter().enumerate() {
        if i > 0 {
            k.push('\0');
        }
        k.push_str(part);
    }
    k
}

impl PageCache {
    pub(crate) fn with_capacity(capacity: usize) -> PageCache {
        PageCache {
            inner: Mutex::new(Pages::default()),
            capacity,
        }
    }

    pub(crate) fn get(&self, generation: i64, key: &str) -> Option<Template> {
        let p = self.lock();
        if p.generation != generation {
            return None;
        }
        p.pages.get(key).cloned()
    }

    pub(crate) fn insert(&self, generation: i64, key: String, page: Template) {
        let size = cost(&key, &page);
        if size > self.capacity {
            return;
        }
        let mut p = self.lock();
        if p.generation != generation {
            // Generations only grow; a page rendered from an older snapshot is not kept.
            if generation < p.generation {
                return;
            }
            p.generation = generation;
            p.clear();
        }
        if let Some(old) = p.pages.remove(&key) {
            p.bytes -= cost(&key, &old);
            p.order.retain(|k| *k != key);
        }
        while p.bytes + size > self.capacity {
            let Some(oldest) = p.order.pop_front() else {
                break;
            };
            if let Some(old) = p.pages.remove(&oldest) {
                p.bytes -= cost(&oldest, &old);
            }
        }
        p.bytes += size;
        p.order.push_back(key.clone());
        p.pages.insert(key, page);
    }

    pub(crate) fn clear(&self) {
        let mut p = self.lock();
        p.clear();
        p.generation = i64::MIN;
    }

    /// (pages, bytes) held now.
    pub(crate) fn stats(&self) -> (usize, usize) {
        let p = self.lock();
        (p.pages.len(), p.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pages> {
        // Every operation leaves the map, queue and byte count consistent before it can
        // panic (no panicking calls between their updates): a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Template {
        Template::new(s)
    }

    #[test]
    fn a_new_generation_invalidates() {
        let c = PageCache::default();
        let k = key("alice", "/sales", "ReportServer");
        c.insert(3, k.clone(), t("page"));
        assert_eq!(c.get(3, &k).unwrap().render("h"), "page");
        assert!(c.get(4, &k).is_none());
        c.insert(4, key("bob", "/", "v"), t("x"));
        assert!(c.get(3, &k).is_none());
        c.insert(3, k.clone(), t("old"));
        assert!(c.get(4, &k).is_none(), "older generation not stored");
    }

    #[test]
    fn the_host_is_put_in_when_served() {
        let page = t("<title>\0/ReportServer</title><h1>\0/ReportServer</h1>");
        assert_eq!(
            page.render("a.test"),
            "<title>a.test/ReportServer</title><h1>a.test/ReportServer</h1>"
        );
        assert_eq!(
            page.render("b"),
            "<title>b/ReportServer</title><h1>b/ReportServer</h1>"
        );
    }

    #[test]
    fn bytes_are_capped_oldest_first() {
        let c = PageCache::with_capacity(10_000);
        let page = "x".repeat(1000);
        for i in 0..100 {
            c.insert(1, key(&format!("user{i}"), "/", "v"), t(&page));
            let (_, bytes) = c.stats();
            assert!(bytes <= 10_000, "{bytes}");
        }
        let (n, _) = c.stats();
        assert!((8..=9).contains(&n), "{n}");
        assert!(
            c.get(1, &key("user0", "/", "v")).is_none(),
            "oldest evicted"
        );
        assert!(c.get(1, &key("user99", "/", "v")).is_some(), "newest kept");
        // Replacing a page does not count it twice.
        c.insert(1, key("user99", "/", "v"), t(&page));
        assert_eq!(c.stats().0, n);
        // A page larger than the whole cache is not kept.
        c.insert(1, key("big", "/", "v"), t(&"y".repeat(20_000)));
        assert!(c.get(1, &key("big", "/", "v")).is_none());
    }
}
