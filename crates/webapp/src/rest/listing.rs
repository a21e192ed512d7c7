//! Whole-catalog listings (`GET CatalogItems`, `Folders`, ... without a key) kept per
//! catalog generation and user, so that a script that pages or filters the catalog does
//! not walk every folder on every request.
//!
//! A listing is what [`super::items`] walks: every item the user may read, with its
//! parent's id, sorted by path. It is valid for the generation it was walked at (every
//! change to items, roles or users changes it, see `Catalog::generation`), so a hit is
//! exactly what a walk would return. System Administrators, who read everything, share one
//! entry. Bounded: [`MAX_ENTRIES`] listings of at most [`MAX_CACHED_ITEMS`] items each;
//! entries of older generations are dropped when a newer one is stored.
//!
//! Pure memory: no I/O, no catalog access.

use std::sync::{Arc, Mutex};

use catalog::CatalogItem;

/// Items with their parent folder's id, sorted by path.
pub(crate) type Listing = Arc<Vec<(CatalogItem, Option<uuid::Uuid>)>>;

/// Most listings kept.
pub(crate) const MAX_ENTRIES: usize = 4;
/// Larger listings are not kept (walked per request).
pub(crate) const MAX_CACHED_ITEMS: usize = 20_000;

/// The cache (see the module documentation).
#[derive(Default)]
pub(crate) struct Listings {
    /// (generation, user key, listing), most recent last.
    entries: Mutex<Vec<(i64, String, Listing)>>,
}

/// The cache key of a user: `""` for System Administrators (they all read everything).
pub(crate) fn user_key(principal: &crate::credentials::Principal) -> String {
    if principal.is_system_admin() {
        String::new()
    } else {
        format!("u:{}", principal.name.to_lowercase())
    }
}

impl Listings {
    pub(crate) fn get(&self, generation: i64, user: &str) -> Option<Listing> {
        let e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        e.iter()
            .find(|(g, u, _)| *g == generation && u == user)
            .map(|(_, _, l)| l.clone())
    }

    pub(crate) fn put(&self, generation: i64, user: &str, listing: Listing) {
        if listing.len() > MAX_CACHED_ITEMS {
            return;
        }
        let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        e.retain(|(g, u, _)| *g >= generation && !(*g == generation && u == user));
        if e.iter().any(|(g, _, _)| *g > generation) {
            return; // walked at a generation already superseded
        }
        if e.len() >= MAX_ENTRIES {
            e.remove(0);
        }
        e.push((generation, user.to_owned(), listing));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_generation_and_user_and_bounded() {
        let l = Listings::default();
        let a: Listing = Arc::new(Vec::new());
        l.put(1, "", a.clone());
        assert!(l.get(1, "").is_some());
        assert!(l.get(1, "u:bob").is_none());
        assert!(l.get(2, "").is_none());
        l.put(2, "u:bob", a.clone());
        assert!(l.get(1, "").is_none(), "older generations are dropped");
        l.put(1, "", a.clone());
        assert!(l.get(1, "").is_none(), "a superseded walk is not kept");
        for i in 0..10 {
            l.put(2, &format!("u:{i}"), a.clone());
        }
        assert_eq!(l.entries.lock().unwrap().len(), MAX_ENTRIES);
    }
}
