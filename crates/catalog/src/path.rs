//! Catalog item paths: [`ItemPath`], the one way a path enters the catalog.
//!
//! A path is parsed once, at the edge (URL, CLI argument, REST body), and from then on is
//! known to be well formed: `/` or `/Seg/Seg...`, no empty, `.` or `..` segments, no
//! backslashes, control, invisible or formatting characters, bounded lengths, and in
//! Unicode NFC (so no two names in a folder look the same but differ). Comparisons are case-insensitive,
//! as in SSRS: `/Sales` and `/sales` are one item, shown with the spelling it was created
//! with.
//!
//! This module does no I/O and knows nothing of the database; it only defines what a path
//! is and how two paths compare.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

use crate::{Error, Result};

/// Longest segment (item name), in characters. The Windows file-name limit, which is also
/// what SSRS allows for an item name; longer names are almost always a mistake or an attack.
pub const MAX_SEGMENT_CHARS: usize = 260;

/// Longest path, in characters (normalized form, leading `/` included). Bounds the depth of
/// a folder tree and the size of keys in indexes.
pub const MAX_PATH_CHARS: usize = 1024;

/// A normalized catalog path: `/` (the root) or `/A/B` — leading `/`, no trailing `/`,
/// segments separated by single `/`.
///
/// Equality, hashing and ordering use the case-insensitive [`key`](ItemPath::key) (Unicode
/// lowercase), so `ItemPath::parse("/Sales")? == ItemPath::parse("/SALES")?`, while
/// [`as_str`](ItemPath::as_str) and [`Display`](fmt::Display) keep the spelling that was
/// parsed. Serialized as that string; deserializing parses (and so refuses bad paths).
///
/// Names may hold spaces, quotes, apostrophes, `&`, `%`, `#`, `?` and any Unicode letter;
/// they may not hold `/` (the separator), `\`, control characters, invisible or formatting
/// characters (Cf: zero-width, direction marks, bidirectional overrides), white space other
/// than the ordinary (and ideographic) space, may not be `.` or `..`, and may not start or
/// end with white space. Parsing normalizes to NFC.
#[derive(Clone)]
pub struct ItemPath {
    /// The stored spelling, normalized: "/" or "/A/B".
    path: String,
    /// `path` lowercased (Unicode), cached because every comparison and lookup uses it.
    key: String,
}

impl ItemPath {
    /// The root folder, `/`.
    pub fn root() -> ItemPath {
        ItemPath {
            path: "/".to_owned(),
            key: "/".to_owned(),
        }
    }

    /// Parses and normalizes a path. Accepts `/A/B`, `A/B` and a trailing `/` (`/A/B/`);
    /// `/` is the root. Refuses, with an [`Error::Invalid`] that names the problem: an empty
    /// path, empty segments (`/A//B`), `.` and `..`, backslashes, control characters,
    /// segments longer than [`MAX_SEGMENT_CHARS`], paths longer than [`MAX_PATH_CHARS`].
    pub fn parse(input: &str) -> Result<ItemPath> {
        if input == "/" {
            return Ok(ItemPath::root());
        }
        if input.is_empty() {
            return Err(Error::Invalid(
                "the catalog path is empty; use / for the root folder or /Folder/Item".into(),
            ));
        }
        // Cheap early bound so a megabyte of input is not walked segment by segment. The
        // precise check (on the normalized form) follows.
        if input.len() > 4 * (MAX_PATH_CHARS + 2) {
            return Err(too_long(input));
        }
        // One spelling per name: NFC, so that a decomposed "é" and a composed one are one
        // name (and one key), as they look the same.
        let nfc: String = input.nfc().collect();
        let input = nfc.as_str();
        let rest = input.strip_prefix('/').unwrap_or(input);
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut path = String::with_capacity(rest.len() + 1);
        for segment in rest.split('/') {
            check_segment(input, segment)?;
            path.push('/');
            path.push_str(segment);
        }
        if path.chars().count() > MAX_PATH_CHARS {
            return Err(too_long(input));
        }
        Ok(ItemPath::from_normalized(path))
    }

    /// Builds from a string already known to be normalized and valid.
    fn from_normalized(path: String) -> ItemPath {
        let key = key_of(&path);
        ItemPath { path, key }
    }

    /// True for `/`.
    pub fn is_root(&self) -> bool {
        self.path == "/"
    }

    /// The normalized path with its stored spelling: `/` or `/A/B`.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// The case-insensitive comparison key: the path in Unicode lowercase (each segment on
    /// its own, final sigma folded). Two paths name the same item exactly when their keys are
    /// equal; the database stores and indexes this key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The folder holding this item; `None` for the root.
    pub fn parent(&self) -> Option<ItemPath> {
        if self.is_root() {
            return None;
        }
        // Invariant: a non-root normalized path starts with '/', so rfind finds one.
        let cut = self.path.rfind('/').unwrap_or(0);
        if cut == 0 {
            Some(ItemPath::root())
        } else {
            Some(ItemPath::from_normalized(self.path[..cut].to_owned()))
        }
    }

    /// The last segment (the item's name); empty for the root.
    pub fn name(&self) -> &str {
        match self.path.rfind('/') {
            Some(i) => &self.path[i + 1..],
            None => "",
        }
    }

    /// The path of the child `name` of this folder. `name` is one segment: it may not
    /// contain `/` and is checked like any segment of [`parse`](ItemPath::parse).
    pub fn join(&self, name: &str) -> Result<ItemPath> {
        let nfc: String = name.nfc().collect();
        let name = nfc.as_str();
        let shown = format!("{}/{}", self.path.trim_end_matches('/'), name);
        if name.contains('/') {
            return Err(Error::Invalid(format!(
                "the item name {} contains '/', which separates folders; choose a name without '/'",
                shorten(name)
            )));
        }
        check_segment(&shown, name)?;
        let mut path = String::with_capacity(shown.len());
        if !self.is_root() {
            path.push_str(&self.path);
        }
        path.push('/');
        path.push_str(name);
        if path.chars().count() > MAX_PATH_CHARS {
            return Err(too_long(&shown));
        }
        Ok(ItemPath::from_normalized(path))
    }

    /// The segments, root first: `/A/B` yields `A`, `B`; the root yields nothing.
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.path[1..].split('/').filter(|s| !s.is_empty())
    }

    /// Number of segments: 0 for the root, 2 for `/A/B`.
    pub fn depth(&self) -> usize {
        self.segments().count()
    }

    /// This path and every folder above it, nearest first: `/A/B`, `/A`, `/`.
    pub fn self_and_ancestors(&self) -> Vec<ItemPath> {
        let mut out = vec![self.clone()];
        let mut cur = self.parent();
        while let Some(p) = cur {
            cur = p.parent();
            out.push(p);
        }
        out
    }

    /// True when `other` is strictly below this path (a path is not its own ancestor).
    /// Case-insensitive. The root is an ancestor of every other path.
    pub fn is_ancestor_of(&self, other: &ItemPath) -> bool {
        if self.is_root() {
            return !other.is_root();
        }
        other.key.len() > self.key.len()
            && other.key.starts_with(&self.key)
            && other.key.as_bytes()[self.key.len()] == b'/'
    }
}

/// The comparison key of a normalized path: each segment lowercased on its own (so the key
/// of a folder is always a prefix of the keys below it, whatever context-sensitive rules
/// lowercasing applies), with the Greek final sigma folded to `σ` so that `ΑΣ`, `ας` and
/// `ασ` compare equal as they do under Unicode case folding.
fn key_of(path: &str) -> String {
    let mut key = String::with_capacity(path.len());
    for segment in path.split('/').skip(1) {
        key.push('/');
        key.extend(
            segment
                .to_lowercase()
                .chars()
                .map(|c| if c == 'ς' { 'σ' } else { c }),
        );
    }
    key
}

/// Checks one segment; `whole` is the input, shown in the message.
fn check_segment(whole: &str, segment: &str) -> Result<()> {
    let bad = |what: &str| {
        Err(Error::Invalid(format!(
            "the catalog path {} {what}",
            shorten(whole)
        )))
    };
    if segment.is_empty() {
        return bad("has an empty name (two '/' in a row); remove the extra '/'");
    }
    if segment == "." || segment == ".." {
        return bad(
            "contains '.' or '..'; relative paths are not allowed, give the full path from /",
        );
    }
    if segment.contains('\\') {
        return bad("contains a backslash; use '/' to separate folders");
    }
    if let Some(c) = segment.chars().find(|c| c.is_control()) {
        return bad(&format!(
            "contains the control character U+{:04X}; remove it",
            c as u32
        ));
    }
    if let Some(c) = segment.chars().find(|c| is_invisible(*c)) {
        return bad(&format!(
            "contains the invisible or formatting character U+{:04X}; remove it (it would make the name look like another one)",
            c as u32
        ));
    }
    if let Some(c) = segment
        .chars()
        .find(|c| c.is_whitespace() && !matches!(c, ' ' | '\u{3000}'))
    {
        return bad(&format!(
            "contains the white-space character U+{:04X}; use an ordinary space",
            c as u32
        ));
    }
    if segment.starts_with(char::is_whitespace) || segment.ends_with(char::is_whitespace) {
        return bad("has a name that starts or ends with white space; remove the spaces");
    }
    let n = segment.chars().count();
    if n > MAX_SEGMENT_CHARS {
        return bad(&format!(
            "has a name of {n} characters; names are at most {MAX_SEGMENT_CHARS} characters"
        ));
    }
    Ok(())
}

/// Characters that do not show, or change how their neighbours show: the Unicode format
/// characters (general category Cf: zero-width space and joiners, direction marks, the
/// bidirectional overrides and isolates of "Trojan Source", the BOM, tags...) and the
/// blank letters that render as nothing (Hangul fillers, braille blank). `Sa\u{200B}les`
/// would otherwise sit beside `Sales` looking the same.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        // Cf, Unicode 15.1
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
            // blank letters and marks that render as nothing
            | '\u{034F}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FFA0}'
    )
}

fn too_long(input: &str) -> Error {
    Error::Invalid(format!(
        "the catalog path {} is too long; paths are at most {MAX_PATH_CHARS} characters",
        shorten(input)
    ))
}

/// Quotes user input for an error message: escaped (control characters cannot reach a
/// terminal) and cut to a readable length.
fn shorten(s: &str) -> String {
    const SHOW: usize = 80;
    if s.chars().count() <= SHOW {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(SHOW).collect();
        format!("{head:?}… ({} characters)", s.chars().count())
    }
}

impl fmt::Display for ItemPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

impl fmt::Debug for ItemPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ItemPath({:?})", self.path)
    }
}

/// Case-insensitive: compares [`ItemPath::key`].
impl PartialEq for ItemPath {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for ItemPath {}

/// Hashes [`ItemPath::key`], consistent with `Eq`.
impl Hash for ItemPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

/// Orders by [`ItemPath::key`] (byte order of the lowercase path), consistent with `Eq`:
/// a folder sorts right before its contents.
impl Ord for ItemPath {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for ItemPath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for ItemPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ItemPath::parse(s)
    }
}

impl TryFrom<&str> for ItemPath {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        ItemPath::parse(s)
    }
}

impl AsRef<str> for ItemPath {
    fn as_ref(&self) -> &str {
        &self.path
    }
}

impl Serialize for ItemPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.path)
    }
}

impl<'de> Deserialize<'de> for ItemPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        ItemPath::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ItemPath {
        ItemPath::parse(s).unwrap()
    }

    fn err(s: &str) -> String {
        match ItemPath::parse(s) {
            Err(Error::Invalid(m)) => m,
            other => panic!("{s:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn normalizes_leading_and_trailing_slashes() {
        assert_eq!(p("/A/B").as_str(), "/A/B");
        assert_eq!(p("A/B").as_str(), "/A/B");
        assert_eq!(p("/A/B/").as_str(), "/A/B");
        assert_eq!(p("A/").as_str(), "/A");
        assert_eq!(p("/").as_str(), "/");
        assert!(p("/").is_root());
        assert!(!p("/A").is_root());
    }

    #[test]
    fn case_insensitive_equality_keeps_spelling() {
        let a = p("/Sales/Q1 Report");
        let b = p("/SALES/q1 report");
        assert_eq!(a, b);
        assert_eq!(a.key(), "/sales/q1 report");
        assert_eq!(a.as_str(), "/Sales/Q1 Report");
        assert_eq!(b.to_string(), "/SALES/q1 report");
        let mut set = std::collections::HashSet::new();
        set.insert(a);
        assert!(set.contains(&b));
        // Unicode lowercase, not only ASCII.
        assert_eq!(p("/ÄRGER"), p("/ärger"));
        assert_eq!(p("/ΣΟΦΙΑ").key(), "/σοφια");
        assert_eq!(p("/ΟΔΟΣ"), p("/οδος"));
        assert_eq!(p("/ΟΔΟΣ"), p("/οδοσ"));
        assert!(p("/ΟΔΟΣ").is_ancestor_of(&p("/οδος/x")));
    }

    #[test]
    fn names_may_hold_punctuation_and_unicode() {
        for name in [
            "Q1 Report",
            "O'Brien's \"best\"",
            "R&D 100% #1?",
            "Umsätze 日本語 😀",
            "...",
            "a.b",
            "semi;colon,comma",
        ] {
            let path = ItemPath::root().join(name).unwrap();
            assert_eq!(path.name(), name);
            assert_eq!(ItemPath::parse(path.as_str()).unwrap().name(), name);
        }
    }

    #[test]
    fn refuses_traversal_and_empty_segments() {
        assert!(err("/../etc").contains("'..'"), "{}", err("/../etc"));
        assert!(err("/A/./B").contains("'.'"));
        assert!(err("..").contains("'..'"));
        assert!(err("/A//B").contains("empty name"));
        assert!(err("//").contains("empty name"));
        assert!(err("/A/B//").contains("empty name"));
        assert!(err("").contains("empty"));
    }

    #[test]
    fn refuses_backslash_control_and_bidi() {
        assert!(err("/A\\B").contains("backslash"));
        assert!(err("/A\u{0}B").contains("U+0000"));
        assert!(err("/A\nB").contains("U+000A"));
        assert!(err("/A\u{7f}").contains("U+007F"));
        assert!(err("/evil\u{202E}fdp.exe").contains("U+202E"));
        assert!(err("/ A").contains("white space"));
        assert!(err("/A /B").contains("white space"));
        // The message escapes what it quotes.
        assert!(!err("/A\u{1b}[31m").contains('\u{1b}'));
    }

    #[test]
    fn look_alike_names_are_refused_or_normalized() {
        for bad in [
            "/Sa\u{200B}les",
            "/Sales\u{200E}",
            "/\u{FEFF}Sales",
            "/Sa\u{00AD}les",
            "/a\u{2066}b",
            "/x\u{E0041}",
            "/\u{3164}",
        ] {
            let m = err(bad);
            assert!(m.contains("invisible or formatting"), "{bad:?}: {m}");
        }
        assert!(err("/Sales\u{00A0}Data").contains("ordinary space"));
        assert!(err("/a\u{2028}b").contains("U+2028"));
        assert!(
            matches!(ItemPath::root().join("Sa\u{200B}les"), Err(Error::Invalid(m)) if m.contains("U+200B"))
        );
        // NFC: the decomposed and the composed spelling are one name.
        let decomposed = p("/Cafe\u{301}");
        assert_eq!(decomposed.as_str(), "/Caf\u{E9}");
        assert_eq!(decomposed, p("/Caf\u{E9}"));
        assert_eq!(
            ItemPath::root().join("Cafe\u{301}").unwrap().as_str(),
            "/Caf\u{E9}"
        );
        // Ideographic space and emoji with variation selectors stay allowed.
        assert_eq!(p("/日本\u{3000}語").name(), "日本\u{3000}語");
        assert_eq!(p("/ok \u{2764}\u{FE0F}").name(), "ok \u{2764}\u{FE0F}");
    }

    #[test]
    fn refuses_long_segments_and_paths() {
        let ok = "x".repeat(MAX_SEGMENT_CHARS);
        assert_eq!(p(&format!("/{ok}")).name(), ok);
        let long = "x".repeat(MAX_SEGMENT_CHARS + 1);
        let m = err(&format!("/{long}"));
        assert!(
            m.contains("261 characters") && m.contains("at most 260"),
            "{m}"
        );
        assert!(m.len() < 400, "message should be cut: {m}");

        // Multibyte: the limit is in characters, not bytes.
        let wide = "ä".repeat(MAX_SEGMENT_CHARS);
        assert_eq!(p(&format!("/{wide}")).name(), wide);

        let seg = "y".repeat(100);
        let deep: String = std::iter::repeat_n(format!("/{seg}"), 11).collect();
        assert!(deep.len() > MAX_PATH_CHARS);
        assert!(err(&deep).contains("too long"));
        let huge = "z".repeat(10_000_000);
        assert!(err(&huge).contains("too long"));
    }

    #[test]
    fn parent_name_segments() {
        let x = p("/A/B/C");
        assert_eq!(x.name(), "C");
        assert_eq!(x.parent().unwrap().as_str(), "/A/B");
        assert_eq!(p("/A").parent().unwrap(), ItemPath::root());
        assert_eq!(ItemPath::root().parent(), None);
        assert_eq!(ItemPath::root().name(), "");
        assert_eq!(x.segments().collect::<Vec<_>>(), ["A", "B", "C"]);
        assert_eq!(ItemPath::root().segments().count(), 0);
        assert_eq!(x.depth(), 3);
        let chain: Vec<_> = x
            .self_and_ancestors()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(chain, ["/A/B/C", "/A/B", "/A", "/"]);
    }

    #[test]
    fn join_checks_the_name() {
        let root = ItemPath::root();
        assert_eq!(root.join("A").unwrap().as_str(), "/A");
        assert_eq!(p("/A").join("B c").unwrap().as_str(), "/A/B c");
        assert!(matches!(root.join("a/b"), Err(Error::Invalid(m)) if m.contains("'/'")));
        assert!(matches!(root.join(".."), Err(Error::Invalid(_))));
        assert!(matches!(root.join(""), Err(Error::Invalid(_))));
        assert!(matches!(root.join("a\tb"), Err(Error::Invalid(_))));
    }

    #[test]
    fn ancestry_is_strict_and_segment_aware() {
        let a = p("/A");
        assert!(a.is_ancestor_of(&p("/a/b")));
        assert!(a.is_ancestor_of(&p("/A/B/C")));
        assert!(!a.is_ancestor_of(&p("/A")));
        assert!(!a.is_ancestor_of(&p("/AB")));
        assert!(!a.is_ancestor_of(&p("/B/A")));
        assert!(ItemPath::root().is_ancestor_of(&a));
        assert!(!ItemPath::root().is_ancestor_of(&ItemPath::root()));
    }

    #[test]
    fn ordering_and_serde_roundtrip() {
        let mut v = [p("/b"), p("/A/x"), p("/a"), p("/")];
        v.sort();
        let shown: Vec<_> = v.iter().map(|p| p.as_str()).collect();
        assert_eq!(shown, ["/", "/a", "/A/x", "/b"]);

        let x = p("/Sales/O'Brien \"Q1\"");
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(json, r#""/Sales/O'Brien \"Q1\"""#);
        let back: ItemPath = serde_json::from_str(&json).unwrap();
        assert_eq!(back.as_str(), x.as_str());
        let lax: ItemPath = serde_json::from_str(r#""x/y/""#).unwrap();
        assert_eq!(lax.as_str(), "/x/y");
        assert!(serde_json::from_str::<ItemPath>(r#""/x/../y""#).is_err());
        let parsed: ItemPath = "Sales/O'Brien \"Q1\"/".parse().unwrap();
        assert_eq!(parsed.as_str(), x.as_str());
    }
}
