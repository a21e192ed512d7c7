//! Fonts for hard-page renderers (PDF, later IMAGE): a registry over configured font
//! directories, the substitution table from the Windows family names reports use to
//! metric-compatible free fonts, per-script fallback, the OS/2 `fsType` embedding rule, and
//! text layout with real metrics (shaped with rustybuzz, wrapped greedily at spaces) behind
//! [`engine::page::TextMeasurer`].
//!
//! Owns: scanning font files (`.ttf`, `.otf`, `.ttc`, recursively, no fontconfig, no C), the
//! substitution table (also as CSS font stacks for HTML, [`css_font_stack`]), the per-render
//! cache of shaped runs ([`TextLayout`], bounded in bytes). Must not: write any output format
//! or know the instance tree beyond [`engine::instance::TextStyle`].

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use engine::instance::{Len, TextStyle, to_pt};
use rustybuzz::ttf_parser;

/// The font directories scanned when none are configured.
pub const DEFAULT_DIRS: &[&str] = &["/usr/share/fonts", "/usr/local/share/fonts"];

/// The Debian packages that provide the fonts the substitution table names.
pub const DEBIAN_PACKAGES: &str =
    "fonts-liberation2 fonts-dejavu-core fonts-crosextra-carlito fonts-crosextra-caladea";

/// Largest font file read (bytes); bigger files are skipped with a warning.
pub const MAX_FONT_FILE: u64 = 64 << 20;
/// Most font files scanned.
pub const MAX_FONT_FILES: usize = 20_000;
/// Deepest directory nesting scanned.
const MAX_DEPTH: usize = 8;

/// Why a font registry cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// No font file in the configured directories could be read.
    #[error(
        "no usable font was found in {dirs}; install the Debian packages {DEBIAN_PACKAGES} \
         (apt-get install {DEBIAN_PACKAGES}) or configure a font directory that has .ttf/.otf files"
    )]
    NoFonts {
        /// The directories scanned, comma separated.
        dirs: String,
    },
}

/// Index of a face in a [`FontRegistry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaceId(pub u32);

/// What the registry knows of one face (file data is loaded on first use).
#[derive(Debug)]
pub struct FaceInfo {
    /// Family name (typographic family when present).
    pub family: String,
    /// Weight class (400 regular, 700 bold).
    pub weight: u16,
    /// Italic or oblique.
    pub italic: bool,
    /// The file.
    pub path: PathBuf,
    /// Index in a collection (`.ttc`).
    pub index: u32,
    /// The OS/2 `fsType` allows embedding (not "restricted license").
    pub embeddable: bool,
    data: OnceLock<Option<Arc<[u8]>>>,
}

/// A font registry: every face found in the font directories.
#[derive(Debug)]
pub struct FontRegistry {
    faces: Vec<FaceInfo>,
    by_family: HashMap<String, Vec<FaceId>>,
    /// Problems found while scanning (corrupt or unreadable files), for the render log.
    pub warnings: Vec<String>,
}

/// A family resolved through the substitution table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The face to use.
    pub face: FaceId,
    /// A warning when the family was replaced by one that is not metric-compatible.
    pub warning: Option<String>,
}

/// Metric-compatible (or named fallback) families for the Windows names reports use; the
/// flag says whether the substitute is metric-compatible (no warning needed).
const SUBSTITUTES: &[(&str, &[&str], bool, &str)] = &[
    ("arial", &["Liberation Sans", "Arimo"], true, "sans-serif"),
    (
        "helvetica",
        &["Liberation Sans", "Arimo"],
        true,
        "sans-serif",
    ),
    (
        "arial narrow",
        &["Liberation Sans Narrow", "Liberation Sans"],
        true,
        "sans-serif",
    ),
    (
        "times new roman",
        &["Liberation Serif", "Tinos"],
        true,
        "serif",
    ),
    ("times", &["Liberation Serif", "Tinos"], true, "serif"),
    (
        "courier new",
        &["Liberation Mono", "Cousine"],
        true,
        "monospace",
    ),
    (
        "courier",
        &["Liberation Mono", "Cousine"],
        true,
        "monospace",
    ),
    ("calibri", &["Carlito"], true, "sans-serif"),
    ("cambria", &["Caladea"], true, "serif"),
    (
        "segoe ui",
        &["Liberation Sans", "DejaVu Sans"],
        false,
        "sans-serif",
    ),
    (
        "tahoma",
        &["DejaVu Sans", "Liberation Sans"],
        false,
        "sans-serif",
    ),
    (
        "verdana",
        &["DejaVu Sans", "Liberation Sans"],
        false,
        "sans-serif",
    ),
    (
        "microsoft sans serif",
        &["Liberation Sans"],
        false,
        "sans-serif",
    ),
    (
        "consolas",
        &["Liberation Mono", "DejaVu Sans Mono"],
        false,
        "monospace",
    ),
    (
        "sans-serif",
        &["Liberation Sans", "DejaVu Sans"],
        true,
        "sans-serif",
    ),
    (
        "serif",
        &["Liberation Serif", "DejaVu Serif"],
        true,
        "serif",
    ),
    (
        "monospace",
        &["Liberation Mono", "DejaVu Sans Mono"],
        true,
        "monospace",
    ),
];

/// Families tried for characters the chosen face has no glyph for (per-script fallback).
const FALLBACKS: &[&str] = &[
    "DejaVu Sans",
    "Noto Sans",
    "Noto Sans CJK SC",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
    "Noto Sans Devanagari",
    "Noto Sans Thai",
    "Liberation Sans",
    "Noto Sans Symbols",
    "Noto Sans Symbols2",
];

/// The last resort for a family not in the table and not installed.
const UNKNOWN_FALLBACK: &[&str] = &["DejaVu Sans", "Liberation Sans"];

fn table_entry(
    family: &str,
) -> Option<&'static (&'static str, &'static [&'static str], bool, &'static str)> {
    let key = family.trim().to_ascii_lowercase();
    SUBSTITUTES.iter().find(|e| e.0 == key)
}

/// The CSS `font-family` value for an RDL family: the family itself, then its substitutes,
/// then the generic family. Names are quoted; characters outside letters, digits, space,
/// `-` and `_` are dropped (the engine already validated them).
pub fn css_font_stack(family: &str) -> String {
    let clean: String = family
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .collect();
    let clean = clean.trim();
    let mut parts: Vec<String> = Vec::new();
    let entry = table_entry(clean);
    if !clean.is_empty() && !matches!(clean, "sans-serif" | "serif" | "monospace") {
        parts.push(format!("\"{clean}\""));
    }
    let (subs, generic): (&[&str], &str) = match entry {
        Some(e) => (e.1, e.3),
        None => (UNKNOWN_FALLBACK, "sans-serif"),
    };
    for s in subs {
        let q = format!("\"{s}\"");
        if !parts.contains(&q) {
            parts.push(q);
        }
    }
    parts.push(generic.to_owned());
    parts.join(", ")
}

impl FontRegistry {
    /// Scans the default directories ([`DEFAULT_DIRS`]).
    pub fn load_default() -> Result<FontRegistry, FontError> {
        let dirs: Vec<PathBuf> = DEFAULT_DIRS.iter().map(PathBuf::from).collect();
        FontRegistry::load(&dirs)
    }

    /// Scans `dirs` recursively for `.ttf`, `.otf` and `.ttc` files. Corrupt or unreadable
    /// files are skipped with a warning; no usable face at all is [`FontError::NoFonts`].
    pub fn load(dirs: &[PathBuf]) -> Result<FontRegistry, FontError> {
        let mut files = Vec::new();
        let mut warnings = Vec::new();
        for d in dirs {
            collect_files(d, 0, &mut files, &mut warnings);
        }
        files.sort();
        let mut reg = FontRegistry {
            faces: Vec::new(),
            by_family: HashMap::new(),
            warnings,
        };
        for path in files {
            reg.scan_file(&path);
        }
        if reg.faces.is_empty() {
            return Err(FontError::NoFonts {
                dirs: dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(reg)
    }

    fn scan_file(&mut self, path: &Path) {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                self.warnings
                    .push(format!("font file {} skipped: {e}", path.display()));
                return;
            }
        };
        let count = ttf_parser::fonts_in_collection(&data).unwrap_or(1).min(256);
        for index in 0..count {
            let face = match ttf_parser::Face::parse(&data, index) {
                Ok(f) => f,
                Err(e) => {
                    self.warnings.push(format!(
                        "font file {} (face {index}) skipped: it is not a valid font ({e})",
                        path.display()
                    ));
                    continue;
                }
            };
            let Some(family) = family_name(&face) else {
                self.warnings.push(format!(
                    "font file {} (face {index}) skipped: it has no family name",
                    path.display()
                ));
                continue;
            };
            if face.glyph_index('a').is_none() && face.glyph_index('\u{4e00}').is_none() {
                // symbol or icon fonts never serve as text faces
                if face.number_of_glyphs() == 0 {
                    continue;
                }
            }
            let embeddable = !matches!(
                face.permissions(),
                Some(ttf_parser::Permissions::Restricted)
            );
            let id = FaceId(self.faces.len() as u32);
            self.by_family
                .entry(family.to_ascii_lowercase())
                .or_default()
                .push(id);
            self.faces.push(FaceInfo {
                family,
                weight: face.weight().to_number(),
                italic: face.is_italic() || face.is_oblique(),
                path: path.to_owned(),
                index,
                embeddable,
                data: OnceLock::new(),
            });
        }
    }

    /// Every face.
    pub fn faces(&self) -> &[FaceInfo] {
        &self.faces
    }

    /// The face's description.
    pub fn info(&self, id: FaceId) -> Option<&FaceInfo> {
        self.faces.get(id.0 as usize)
    }

    /// The face's file data (read on first use; `None` when it cannot be read any more).
    pub fn data(&self, id: FaceId) -> Option<Arc<[u8]>> {
        let info = self.faces.get(id.0 as usize)?;
        info.data
            .get_or_init(|| {
                let meta = std::fs::metadata(&info.path).ok()?;
                if meta.len() > MAX_FONT_FILE {
                    return None;
                }
                std::fs::read(&info.path).ok().map(Arc::from)
            })
            .clone()
    }

    /// The face's file data borrowed for as long as the registry lives (read on first use).
    pub fn data_ref(&self, id: FaceId) -> Option<&[u8]> {
        self.data(id)?;
        self.faces.get(id.0 as usize)?.data.get()?.as_deref()
    }

    /// The installed face of `family` closest to the weight and style, if the family exists.
    pub fn exact(&self, family: &str, weight: u16, italic: bool) -> Option<FaceId> {
        let ids = self.by_family.get(&family.trim().to_ascii_lowercase())?;
        ids.iter().copied().min_by_key(|id| {
            let f = &self.faces[id.0 as usize];
            let style = if f.italic == italic { 0 } else { 10_000 };
            style + (i32::from(f.weight) - i32::from(weight)).unsigned_abs()
        })
    }

    /// Resolves an RDL family: installed as named, else through the substitution table,
    /// else DejaVu Sans (with a warning), else any face.
    pub fn resolve(&self, family: &str, weight: u16, italic: bool) -> Resolved {
        let entry = table_entry(family);
        // the real family, when installed, is best (a real Arial beats Liberation Sans)
        if let Some(face) = self.exact(family, weight, italic) {
            return Resolved {
                face,
                warning: None,
            };
        }
        let (subs, compatible): (&[&str], bool) = match entry {
            Some(e) => (e.1, e.2),
            None => (UNKNOWN_FALLBACK, false),
        };
        for s in subs {
            if let Some(face) = self.exact(s, weight, italic) {
                let warning = (!compatible).then(|| {
                    format!(
                        "the font {family:?} is not installed and has no metric-compatible free \
                         font; {s:?} is used instead, so text may wrap differently than in SSRS"
                    )
                });
                return Resolved { face, warning };
            }
        }
        let face = UNKNOWN_FALLBACK
            .iter()
            .find_map(|s| self.exact(s, weight, italic))
            .unwrap_or(FaceId(0));
        let name = self
            .info(face)
            .map(|f| f.family.clone())
            .unwrap_or_default();
        Resolved {
            face,
            warning: Some(format!(
                "the font {family:?} and its substitutes {subs:?} are not installed; {name:?} is \
                 used instead (install {DEBIAN_PACKAGES})"
            )),
        }
    }

    /// The outline of a glyph as SVG path data in font units (y up, as in the font) and the
    /// face's units per em; `None` when the face cannot be read. A glyph without an outline
    /// (a space) gives empty path data.
    pub fn glyph_svg_path(&self, id: FaceId, glyph: u16) -> Option<(String, f32)> {
        let data = self.data(id)?;
        let index = self.info(id)?.index;
        let face = ttf_parser::Face::parse(&data, index).ok()?;
        let mut b = SvgPath(String::new());
        face.outline_glyph(ttf_parser::GlyphId(glyph), &mut b);
        Some((b.0, f32::from(face.units_per_em().max(1))))
    }

    /// A face that has a glyph for `c`, trying the fallback families, then every face.
    pub fn fallback_for(&self, c: char, weight: u16, italic: bool) -> Option<FaceId> {
        let has = |id: FaceId| -> bool {
            let Some(data) = self.data(id) else {
                return false;
            };
            let idx = self.faces[id.0 as usize].index;
            ttf_parser::Face::parse(&data, idx)
                .map(|f| f.glyph_index(c).is_some())
                .unwrap_or(false)
        };
        for fam in FALLBACKS {
            if let Some(id) = self.exact(fam, weight, italic)
                && has(id)
            {
                return Some(id);
            }
        }
        None
    }
}

fn family_name(face: &ttf_parser::Face<'_>) -> Option<String> {
    let mut best: Option<(u8, String)> = None;
    for name in face.names() {
        let rank = match name.name_id {
            ttf_parser::name_id::TYPOGRAPHIC_FAMILY => 0,
            ttf_parser::name_id::FAMILY => 1,
            _ => continue,
        };
        if !name.is_unicode() {
            continue;
        }
        if let Some(s) = name.to_string()
            && !s.trim().is_empty()
            && best.as_ref().is_none_or(|b| rank < b.0)
        {
            best = Some((rank, s.trim().to_owned()));
        }
    }
    best.map(|b| b.1)
}

fn collect_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, warnings: &mut Vec<String>) {
    if depth > MAX_DEPTH || out.len() >= MAX_FONT_FILES {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return; // a configured directory that does not exist is not an error
    };
    for e in rd.flatten() {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            collect_files(&path, depth + 1, out, warnings);
        } else if ft.is_file() || ft.is_symlink() {
            let ext = path
                .extension()
                .and_then(|x| x.to_str())
                .map(str::to_ascii_lowercase);
            if !matches!(ext.as_deref(), Some("ttf" | "otf" | "ttc")) {
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(m) if m.len() > MAX_FONT_FILE => warnings.push(format!(
                    "font file {} skipped: larger than {MAX_FONT_FILE} bytes",
                    path.display()
                )),
                Ok(_) => out.push(path),
                Err(_) => {}
            }
            if out.len() >= MAX_FONT_FILES {
                warnings.push(format!(
                    "more than {MAX_FONT_FILES} font files: the rest are not scanned"
                ));
                return;
            }
        }
    }
}

/// Collects a glyph outline as SVG path data.
struct SvgPath(String);

impl ttf_parser::OutlineBuilder for SvgPath {
    fn move_to(&mut self, x: f32, y: f32) {
        use std::fmt::Write;
        let _ = write!(self.0, "M{x} {y}");
    }
    fn line_to(&mut self, x: f32, y: f32) {
        use std::fmt::Write;
        let _ = write!(self.0, "L{x} {y}");
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        use std::fmt::Write;
        let _ = write!(self.0, "Q{x1} {y1} {x} {y}");
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        use std::fmt::Write;
        let _ = write!(self.0, "C{x1} {y1} {x2} {y2} {x} {y}");
    }
    fn close(&mut self) {
        self.0.push('Z');
    }
}

/// One shaped glyph; advances and offsets are in em (divided by units per em).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapedGlyph {
    /// Glyph id.
    pub id: u16,
    /// Byte offset of its cluster in the run's text.
    pub cluster: u32,
    /// Advance.
    pub x_advance: f32,
    /// Offset.
    pub x_offset: f32,
    /// Offset.
    pub y_offset: f32,
}

/// A run of text shaped in one face.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapedRun {
    /// The face.
    pub face: FaceId,
    /// The text this run covers.
    pub text: String,
    /// The glyphs.
    pub glyphs: Vec<ShapedGlyph>,
    /// Sum of the advances, in em.
    pub width_em: f32,
}

/// Vertical metrics of a face, in em.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VMetrics {
    /// Ascender (positive).
    pub ascent: f32,
    /// Descender (positive, below the baseline).
    pub descent: f32,
    /// Line gap.
    pub gap: f32,
    /// Highest and lowest ink of any glyph (the `head` bounding box: up positive, down
    /// positive), which no glyph of the face paints beyond.
    pub ink: (f32, f32),
}

/// A piece of a laid-out line: shaped runs of one source text run, placed at `x`.
#[derive(Debug, Clone)]
pub struct Piece {
    /// Index of the source run in the paragraph.
    pub run: usize,
    /// X offset from the line start, in [`Len`].
    pub x: Len,
    /// Width in [`Len`].
    pub width: Len,
    /// Font size in points.
    pub size_pt: f32,
    /// Shaped runs (more than one when fallback faces cover some characters).
    pub shaped: Vec<Arc<ShapedRun>>,
}

/// One laid-out line.
#[derive(Debug, Clone, Default)]
pub struct LineLayout {
    /// Pieces from left to right.
    pub pieces: Vec<Piece>,
    /// Total width.
    pub width: Len,
    /// Distance from the line top to the baseline.
    pub ascent: Len,
    /// Line height.
    pub height: Len,
}

/// Largest shaped-run cache, in bytes (approximate).
pub const DEFAULT_CACHE_BYTES: usize = 4 << 20;

/// Text layout for one render: resolves fonts, shapes text (each distinct
/// (text, face, size) once — the cache is bounded in bytes and cleared when full), wraps
/// lines and collects warnings (substitutions, missing glyphs).
pub struct TextLayout<'r> {
    reg: &'r FontRegistry,
    cache: RefCell<Cache>,
    max_bytes: usize,
    warnings: RefCell<BTreeSet<String>>,
    /// Faces by family: regular, italic, bold, bold italic (looked up without allocating).
    resolved: RefCell<FastMap<String, [Option<FaceId>; 4]>>,
    metrics: RefCell<FastMap<FaceId, VMetrics>>,
    used: RefCell<BTreeSet<FaceId>>,
    /// Parsed faces and their shape plans, made once per render (`None`: unreadable).
    hb: RefCell<FastMap<FaceId, Option<Rc<HbFace<'r>>>>>,
    /// Nominal advances (em) of printable ASCII per face (`None`: a character is missing).
    ascii: RefCell<FastMap<FaceId, Option<Rc<[f32; 95]>>>>,
    /// Per face, the characters of [`PLAIN_CANDIDATES`] that shape as their nominal glyphs
    /// in any pairing (see [`TextLayout::plain_set`]).
    plain: RefCell<FastMap<FaceId, Option<Rc<PlainSet>>>>,
    /// The last style [`TextLayout::plain_glyphs`] resolved: (family, bold, italic) and its
    /// face and plain set (a table's cells repeat one style: no map look-ups per cell).
    plain_memo: RefCell<Option<PlainMemo>>,
    /// Hashes of texts shaped once (direct-mapped): a text enters the cache the second time
    /// it is shaped, so values that never repeat (ids, amounts) are not kept.
    seen: RefCell<Vec<u64>>,
    seen_hasher: foldhash::fast::RandomState,
}

/// The layout's maps: keyed by texts of the report's data, hashed with a seeded fast hasher
/// (SipHash cost ~1.5% of a PDF's CPU here).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Slots of [`TextLayout`]'s seen-once filter.
const SEEN_SLOTS: usize = 1 << 14;

/// Characters of numbers, dates and times (ids, amounts, dates: values that rarely repeat,
/// so the shaped-run cache does not help them) that may be placed without shaping.
const PLAIN_CANDIDATES: &[u8] = b"0123456789 .,:/-+$%()";

/// Characters of [`PLAIN_CANDIDATES`] that a face shapes as their nominal glyphs at their
/// nominal advances, alone and in every pair among themselves (no kerning, no
/// substitution): a text of only these is placed glyph by glyph.
struct PlainSet {
    /// Bit `b` set: byte `b` is plain.
    bytes: u128,
    /// Glyph id and advance (em) by byte.
    glyphs: [(u16, f32); 128],
}

/// The nominal glyphs of a plain text (see [`TextLayout::plain_glyphs`]).
pub struct PlainGlyphs {
    /// The face they are in.
    pub face: FaceId,
    set: Rc<PlainSet>,
}

impl PlainGlyphs {
    /// Glyph id and advance (em) of byte `b` of the text.
    pub fn glyph(&self, b: u8) -> (u16, f32) {
        self.set.glyphs[usize::from(b & 0x7f)]
    }
}

/// A face parsed for shaping, with the shape plans made for it (a plan per direction and
/// script: building one costs more than shaping a short text).
struct HbFace<'r> {
    face: rustybuzz::Face<'r>,
    plans: RefCell<
        Vec<(
            rustybuzz::Direction,
            rustybuzz::Script,
            Rc<rustybuzz::ShapePlan>,
        )>,
    >,
}

impl std::fmt::Debug for TextLayout<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextLayout")
            .field("cache_bytes", &self.cache.borrow().bytes)
            .finish_non_exhaustive()
    }
}

/// Laid-out runs by text.
type LaidTexts = FastMap<Box<str>, Rc<[LineLayout]>>;

/// A style's (family, bold, italic), its face and the face's plain set.
type PlainMemo = (String, bool, bool, FaceId, Option<Rc<PlainSet>>);

/// Shaped texts by text.
type ShapedTexts = FastMap<Box<str>, Vec<Arc<ShapedRun>>>;

#[derive(Default)]
struct Cache {
    runs: FastMap<(String, FaceId), Arc<ShapedRun>>,
    /// Text heights by (primary face, size, width), then text.
    heights: FastMap<(FaceId, Len, Len), FastMap<Box<str>, Len>>,
    /// Whole shaped texts by (primary face, bold, italic), then text.
    shaped: FastMap<(FaceId, bool, bool), ShapedTexts>,
    /// Laid-out texts of one run by (primary face, bold, italic, size, width), then text
    /// (see [`TextLayout::layout_run`]).
    layouts: FastMap<(FaceId, bool, bool, Len, Len), LaidTexts>,
    bytes: usize,
    hits: u64,
    misses: u64,
}

impl<'r> TextLayout<'r> {
    /// A layout over `reg` with the default cache bound.
    pub fn new(reg: &'r FontRegistry) -> TextLayout<'r> {
        TextLayout::with_cache_bytes(reg, DEFAULT_CACHE_BYTES)
    }

    /// A layout whose shaped-run cache holds at most about `max_bytes`.
    pub fn with_cache_bytes(reg: &'r FontRegistry, max_bytes: usize) -> TextLayout<'r> {
        TextLayout {
            reg,
            cache: RefCell::new(Cache::default()),
            max_bytes,
            warnings: RefCell::new(BTreeSet::new()),
            resolved: RefCell::default(),
            metrics: RefCell::default(),
            used: RefCell::new(BTreeSet::new()),
            hb: RefCell::default(),
            ascii: RefCell::default(),
            plain: RefCell::default(),
            plain_memo: RefCell::new(None),
            seen: RefCell::new(vec![0; SEEN_SLOTS]),
            seen_hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// The registry.
    pub fn registry(&self) -> &'r FontRegistry {
        self.reg
    }

    /// Warnings so far (sorted, each once).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.borrow().iter().cloned().collect()
    }

    /// Faces used so far (for embedding checks).
    pub fn used_faces(&self) -> Vec<FaceId> {
        self.used.borrow().iter().copied().collect()
    }

    /// (hits, misses, bytes) of the shaped-run cache.
    pub fn cache_stats(&self) -> (u64, u64, usize) {
        let c = self.cache.borrow();
        (c.hits, c.misses, c.bytes)
    }

    /// The face for a style (resolved once per family/weight/style).
    pub fn face_for(&self, style: &TextStyle) -> FaceId {
        let bold = if style.font_weight >= 600 { 700 } else { 400 };
        let slot = usize::from(bold == 700) * 2 + usize::from(style.italic);
        if let Some(Some(id)) = self
            .resolved
            .borrow()
            .get(style.font_family.as_str())
            .map(|f| f[slot])
        {
            return id;
        }
        let r = self.reg.resolve(&style.font_family, bold, style.italic);
        if let Some(w) = r.warning {
            self.warnings.borrow_mut().insert(w);
        }
        self.resolved
            .borrow_mut()
            .entry(style.font_family.clone())
            .or_default()[slot] = Some(r.face);
        r.face
    }

    /// Vertical metrics of a face (hhea; OS/2 typo metrics when hhea is empty).
    pub fn vmetrics(&self, id: FaceId) -> VMetrics {
        if let Some(m) = self.metrics.borrow().get(&id) {
            return *m;
        }
        let m = self
            .reg
            .data(id)
            .and_then(|data| {
                let info = self.reg.info(id)?;
                let f = ttf_parser::Face::parse(&data, info.index).ok()?;
                let upm = f32::from(f.units_per_em().max(1));
                let bb = f.global_bounding_box();
                Some(VMetrics {
                    ascent: f32::from(f.ascender()) / upm,
                    descent: -f32::from(f.descender()) / upm,
                    gap: f32::from(f.line_gap()) / upm,
                    ink: (
                        f32::from(bb.y_max.max(0)) / upm,
                        -f32::from(bb.y_min.min(0)) / upm,
                    ),
                })
            })
            .unwrap_or(VMetrics {
                ascent: 0.9,
                descent: 0.25,
                gap: 0.0,
                ink: (2.0, 1.0),
            });
        self.metrics.borrow_mut().insert(id, m);
        m
    }

    /// Shapes `text` in the style's face, splitting off characters the face lacks to a
    /// fallback face (a warning names characters no installed face has).
    pub fn shape(&self, text: &str, style: &TextStyle) -> Vec<Arc<ShapedRun>> {
        let primary = self.face_for(style);
        let key = (primary, style.font_weight >= 600, style.italic);
        {
            let mut c = self.cache.borrow_mut();
            if let Some(v) = c.shaped.get(&key).and_then(|m| m.get(text)).cloned() {
                c.hits += 1;
                return v;
            }
        }
        let v = self.shape_segments(text, style, primary);
        if !self.seen_before((key, text)) {
            return v;
        }
        let mut c = self.cache.borrow_mut();
        let glyphs: usize = v.iter().map(|r| r.glyphs.len()).sum();
        self.reserve(
            &mut c,
            text.len() * 2 + glyphs * std::mem::size_of::<ShapedGlyph>() + 48 * v.len() + 160,
        );
        c.shaped
            .entry(key)
            .or_default()
            .insert(text.into(), v.clone());
        v
    }

    /// The nominal glyphs of `text` when [`TextLayout::shape`] would place it without
    /// shaping (every byte in the face's plain set: digits and the punctuation of numbers
    /// and dates), for a renderer to place glyph by glyph without a shaped run, a cache
    /// look-up or an allocation; `None` for any other text.
    pub fn plain_glyphs(&self, text: &str, style: &TextStyle) -> Option<PlainGlyphs> {
        if text.is_empty() {
            return None;
        }
        let bold = style.font_weight >= 600;
        let (face, set) = {
            let memo = self.plain_memo.borrow();
            match memo.as_ref() {
                Some((family, b, i, face, set))
                    if *b == bold && *i == style.italic && *family == style.font_family =>
                {
                    (*face, set.clone())
                }
                _ => {
                    drop(memo);
                    let face = self.face_for(style);
                    let set = self.hb_face(face).and_then(|hb| self.plain_set(face, &hb));
                    *self.plain_memo.borrow_mut() = Some((
                        style.font_family.clone(),
                        bold,
                        style.italic,
                        face,
                        set.clone(),
                    ));
                    (face, set)
                }
            }
        };
        let set = set?;
        if !text
            .bytes()
            .all(|b| b < 128 && set.bytes & (1u128 << b) != 0)
        {
            return None;
        }
        self.used.borrow_mut().insert(face);
        Some(PlainGlyphs { face, set })
    }

    /// True when `key` was offered before (as far as the direct-mapped filter knows: a
    /// colliding key in between makes it forget); records it either way. What the caches
    /// keep from its second time on.
    fn seen_before(&self, key: impl std::hash::Hash) -> bool {
        use std::hash::BuildHasher;
        let h = self.seen_hasher.hash_one(key) | 1;
        let mut seen = self.seen.borrow_mut();
        let slot = &mut seen[(h as usize) % SEEN_SLOTS];
        let before = *slot == h;
        *slot = h;
        before
    }

    fn shape_segments(
        &self,
        text: &str,
        style: &TextStyle,
        primary: FaceId,
    ) -> Vec<Arc<ShapedRun>> {
        let bold = if style.font_weight >= 600 { 700 } else { 400 };
        let Some(hb) = self.hb_face(primary) else {
            return Vec::new();
        };
        let face = &hb.face;
        // digits and the punctuation of numbers and dates, where the face neither kerns nor
        // substitutes them: the nominal glyphs, no shaping
        if let Some(plain) = self.plain_glyphs(text, style) {
            self.cache.borrow_mut().misses += 1;
            let mut width_em = 0.0;
            let glyphs = text
                .bytes()
                .enumerate()
                .map(|(i, b)| {
                    let (id, adv) = plain.glyph(b);
                    width_em += adv;
                    ShapedGlyph {
                        id,
                        cluster: i as u32,
                        x_advance: adv,
                        x_offset: 0.0,
                        y_offset: 0.0,
                    }
                })
                .collect();
            return vec![Arc::new(ShapedRun {
                face: primary,
                text: text.to_owned(),
                glyphs,
                width_em,
            })];
        }
        // printable ASCII in a face that has all of it (the common case): one segment, no
        // per-character cmap look-ups
        if text.bytes().all(|b| (0x20..=0x7e).contains(&b))
            && self.ascii_advances(primary).is_some()
        {
            self.used.borrow_mut().insert(primary);
            self.cache.borrow_mut().misses += 1;
            return vec![Arc::new(shape_with(&hb, text, primary))];
        }
        // segment by face
        let mut segs: Vec<(FaceId, usize, usize)> = Vec::new();
        for (i, c) in text.char_indices() {
            let id = if c.is_control() || face.glyph_index(c).is_some() || c.is_whitespace() {
                primary
            } else {
                match self.reg.fallback_for(c, bold, style.italic) {
                    Some(f) => f,
                    None => {
                        self.warnings.borrow_mut().insert(format!(
                            "no installed font has a glyph for {c:?} (U+{:04X}); it prints as a box \
                             (install fonts-noto-core / fonts-noto-cjk)",
                            c as u32
                        ));
                        primary
                    }
                }
            };
            match segs.last_mut() {
                Some(s) if s.0 == id => s.2 = i + c.len_utf8(),
                _ => segs.push((id, i, i + c.len_utf8())),
            }
        }
        if let [(id, _, _)] = segs.as_slice()
            && *id == primary
        {
            // all in the primary face: shaped here, kept only in the caller's cache entry
            self.used.borrow_mut().insert(primary);
            self.cache.borrow_mut().misses += 1;
            return vec![Arc::new(shape_with(&hb, text, primary))];
        }
        segs.into_iter()
            .map(|(id, a, b)| self.shape_in(&text[a..b], id))
            .collect()
    }

    fn shape_in(&self, text: &str, id: FaceId) -> Arc<ShapedRun> {
        self.used.borrow_mut().insert(id);
        let key = (text.to_owned(), id);
        {
            let mut c = self.cache.borrow_mut();
            if let Some(r) = c.runs.get(&key).cloned() {
                c.hits += 1;
                return r;
            }
            c.misses += 1;
        }
        let run = Arc::new(match self.hb_face(id) {
            Some(hb) => shape_with(&hb, text, id),
            None => ShapedRun {
                face: id,
                text: text.to_owned(),
                glyphs: Vec::new(),
                width_em: 0.0,
            },
        });
        let mut c = self.cache.borrow_mut();
        let cost = text.len() * 3 + run.glyphs.len() * std::mem::size_of::<ShapedGlyph>() + 160;
        self.reserve(&mut c, cost);
        c.runs.insert(key, run.clone());
        run
    }

    /// Accounts `cost` bytes to the cache, clearing it first when that would pass the bound
    /// (the freed memory is reused by what follows).
    fn reserve(&self, c: &mut Cache, cost: usize) {
        if c.bytes + cost > self.max_bytes {
            c.runs.clear();
            c.heights.clear();
            c.layouts.clear();
            c.shaped.clear();
            c.bytes = 0;
        }
        c.bytes += cost;
    }

    /// Nominal advances of the printable ASCII characters in a face, in em.
    fn ascii_advances(&self, id: FaceId) -> Option<Rc<[f32; 95]>> {
        if let Some(a) = self.ascii.borrow().get(&id) {
            return a.clone();
        }
        let a = self.hb_face(id).and_then(|hb| {
            let upm = f32::from(hb.face.units_per_em().max(1) as u16);
            let mut t = [0f32; 95];
            for (i, slot) in t.iter_mut().enumerate() {
                let c = char::from(0x20 + i as u8);
                let g = hb.face.glyph_index(c)?;
                *slot = f32::from(hb.face.glyph_hor_advance(g)?) / upm;
            }
            Some(Rc::new(t))
        });
        self.ascii.borrow_mut().insert(id, a.clone());
        a
    }

    /// The characters of [`PLAIN_CANDIDATES`] that `id` shapes as their nominal glyphs, found
    /// by shaping each alone and every pair of them once per render (`None`: none are).
    fn plain_set(&self, id: FaceId, hb: &HbFace<'_>) -> Option<Rc<PlainSet>> {
        if let Some(p) = self.plain.borrow().get(&id) {
            return p.clone();
        }
        let upm = f32::from(hb.face.units_per_em().max(1) as u16);
        let mut set = PlainSet {
            bytes: 0,
            glyphs: [(0, 0.0); 128],
        };
        for &b in PLAIN_CANDIDATES {
            let c = char::from(b);
            let Some(g) = hb.face.glyph_index(c) else {
                continue;
            };
            let Some(adv) = hb.face.glyph_hor_advance(g) else {
                continue;
            };
            set.glyphs[usize::from(b)] = (g.0, f32::from(adv) / upm);
            set.bytes |= 1u128 << b;
        }
        let nominal = |text: &[u8], run: &ShapedRun| {
            run.glyphs.len() == text.len()
                && run.glyphs.iter().zip(text).enumerate().all(|(i, (g, &b))| {
                    let (gid, adv) = set.glyphs[usize::from(b)];
                    g.id == gid
                        && g.cluster as usize == i
                        && g.x_advance == adv
                        && g.x_offset == 0.0
                        && g.y_offset == 0.0
                })
        };
        let mut bad = 0u128;
        for &a in PLAIN_CANDIDATES {
            if set.bytes & (1u128 << a) == 0 {
                continue;
            }
            let one = [a];
            let alone = std::str::from_utf8(&one).unwrap_or_default();
            if !nominal(&one, &shape_with(hb, alone, id)) {
                bad |= 1u128 << a;
                continue;
            }
            for &b in PLAIN_CANDIDATES {
                if set.bytes & (1u128 << b) == 0 {
                    continue;
                }
                let two = [a, b];
                let pair = std::str::from_utf8(&two).unwrap_or_default();
                if !nominal(&two, &shape_with(hb, pair, id)) {
                    bad |= (1u128 << a) | (1u128 << b);
                }
            }
        }
        set.bytes &= !bad;
        let p = (set.bytes != 0).then(|| Rc::new(set));
        self.plain.borrow_mut().insert(id, p.clone());
        p
    }

    /// The face parsed for shaping (once per render).
    fn hb_face(&self, id: FaceId) -> Option<Rc<HbFace<'r>>> {
        if let Some(f) = self.hb.borrow().get(&id) {
            return f.clone();
        }
        let f = self.reg.data_ref(id).and_then(|data| {
            let index = self.reg.info(id).map(|i| i.index).unwrap_or(0);
            Some(Rc::new(HbFace {
                face: rustybuzz::Face::from_slice(data, index)?,
                plans: RefCell::new(Vec::new()),
            }))
        });
        self.hb.borrow_mut().insert(id, f.clone());
        f
    }

    /// [`TextLayout::layout`] of one run, kept (within the cache's bound) from the second
    /// time a text is laid out in the same face, size and width: a column's values that
    /// wrap (dates with times, names) repeat, and each costs a shaped word or two per line.
    pub fn layout_run(&self, text: &str, style: &TextStyle, width: Len) -> Rc<[LineLayout]> {
        let key = (
            self.face_for(style),
            style.font_weight >= 600,
            style.italic,
            style.font_size,
            width,
        );
        if let Some(v) = self
            .cache
            .borrow()
            .layouts
            .get(&key)
            .and_then(|m| m.get(text))
        {
            return v.clone();
        }
        let v: Rc<[LineLayout]> = self.layout(&[(text, style)], width).into();
        // a key space of its own (the filter is shared with shape's)
        if !self.seen_before((key, text, 0x6c61_796fu32)) {
            return v;
        }
        let mut c = self.cache.borrow_mut();
        let pieces: usize = v.iter().map(|l| l.pieces.len()).sum();
        self.reserve(
            &mut c,
            text.len()
                + 96
                + v.len() * std::mem::size_of::<LineLayout>()
                + pieces * (std::mem::size_of::<Piece>() + 16),
        );
        c.layouts
            .entry(key)
            .or_default()
            .insert(text.into(), v.clone());
        v
    }

    /// Lays out a paragraph of styled runs wrapped at `width` (greedy at spaces, a word
    /// longer than the line broken between characters; `\n` breaks lines).
    pub fn layout(&self, runs: &[(&str, &TextStyle)], width: Len) -> Vec<LineLayout> {
        // the common case, one run on one line that fits: shaped whole, once
        if let [(text, style)] = runs
            && !text.is_empty()
            && !text.contains('\n')
            && text.trim_end().len() == text.len()
        {
            let size_pt = to_pt(style.font_size) as f32;
            let shaped = self.shape(text, style);
            let w_em: f32 = shaped.iter().map(|s| s.width_em).sum();
            let w = engine::instance::pt(f64::from(w_em * size_pt));
            if w <= width {
                let vm = self.vmetrics(self.face_for(style));
                return vec![LineLayout {
                    pieces: vec![Piece {
                        run: 0,
                        x: 0,
                        width: w,
                        size_pt,
                        shaped,
                    }],
                    width: w,
                    ascent: engine::instance::pt(f64::from(vm.ascent * size_pt)),
                    height: engine::instance::pt(f64::from(
                        (vm.ascent + vm.descent + vm.gap) * size_pt,
                    )),
                }];
            }
        }
        let mut lines: Vec<LineLayout> = Vec::new();
        let mut cur = LineLayout::default();
        let mut line_ascent: f32 = 0.0;
        let mut line_height: f32 = 0.0;
        let finish =
            |cur: &mut LineLayout, lines: &mut Vec<LineLayout>, a: &mut f32, h: &mut f32| {
                cur.ascent = engine::instance::pt(f64::from(*a));
                cur.height = engine::instance::pt(f64::from(*h));
                // trailing spaces do not count for alignment
                lines.push(std::mem::take(cur));
                *a = 0.0;
                *h = 0.0;
            };
        for (ri, (text, style)) in runs.iter().enumerate() {
            let size_pt = to_pt(style.font_size) as f32;
            let face = self.face_for(style);
            let vm = self.vmetrics(face);
            let (asc, hgt) = (
                vm.ascent * size_pt,
                (vm.ascent + vm.descent + vm.gap) * size_pt,
            );
            for (li, part) in text.split('\n').enumerate() {
                if li > 0 {
                    line_ascent = line_ascent.max(asc);
                    line_height = line_height.max(hgt);
                    finish(&mut cur, &mut lines, &mut line_ascent, &mut line_height);
                }
                let part = part.trim_end_matches('\r');
                for word in split_words(part) {
                    let shaped = self.shape(word, style);
                    let w_em: f32 = shaped.iter().map(|s| s.width_em).sum();
                    let w = engine::instance::pt(f64::from(w_em * size_pt));
                    let trimmed = word.trim_end();
                    let w_visible = if trimmed.len() == word.len() {
                        w
                    } else {
                        let s = self.shape(trimmed, style);
                        let e: f32 = s.iter().map(|s| s.width_em).sum();
                        engine::instance::pt(f64::from(e * size_pt))
                    };
                    if cur.width + w_visible > width && !cur.pieces.is_empty() {
                        finish(&mut cur, &mut lines, &mut line_ascent, &mut line_height);
                    }
                    if w_visible > width && cur.pieces.is_empty() && trimmed.chars().count() > 1 {
                        // break a long word between characters
                        for ch in split_chars(word) {
                            let s = self.shape(ch, style);
                            let e: f32 = s.iter().map(|s| s.width_em).sum();
                            let cw = engine::instance::pt(f64::from(e * size_pt));
                            if cur.width + cw > width && !cur.pieces.is_empty() {
                                finish(&mut cur, &mut lines, &mut line_ascent, &mut line_height);
                            }
                            line_ascent = line_ascent.max(asc);
                            line_height = line_height.max(hgt);
                            cur.pieces.push(Piece {
                                run: ri,
                                x: cur.width,
                                width: cw,
                                size_pt,
                                shaped: s,
                            });
                            cur.width += cw;
                        }
                        continue;
                    }
                    line_ascent = line_ascent.max(asc);
                    line_height = line_height.max(hgt);
                    cur.pieces.push(Piece {
                        run: ri,
                        x: cur.width,
                        width: w,
                        size_pt,
                        shaped,
                    });
                    cur.width += w;
                }
                if part.is_empty() {
                    line_ascent = line_ascent.max(asc);
                    line_height = line_height.max(hgt);
                }
            }
        }
        if !cur.pieces.is_empty() || line_height > 0.0 || lines.is_empty() {
            if line_height == 0.0 {
                let st = runs.first().map(|r| r.1.clone()).unwrap_or_default();
                let vm = self.vmetrics(self.face_for(&st));
                let s = to_pt(st.font_size) as f32;
                line_ascent = vm.ascent * s;
                line_height = (vm.ascent + vm.descent + vm.gap) * s;
            }
            finish(&mut cur, &mut lines, &mut line_ascent, &mut line_height);
        }
        // visible widths (without trailing spaces) for alignment
        for l in &mut lines {
            if let Some(last) = l.pieces.last() {
                let trailing: f32 = last
                    .shaped
                    .iter()
                    .flat_map(|s| {
                        let t = s.text.trim_end().len() as u32;
                        s.glyphs
                            .iter()
                            .filter(move |g| g.cluster >= t)
                            .map(|g| g.x_advance)
                    })
                    .sum();
                l.width -= engine::instance::pt(f64::from(trailing * last.size_pt));
            }
        }
        lines
    }
}

/// Words with their trailing spaces ("a b  c" → "a ", "b  ", "c").
fn split_words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in s.char_indices() {
        if c == ' ' || c == '\t' {
            in_space = true;
        } else if in_space {
            out.push(&s[start..i]);
            start = i;
            in_space = false;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn split_chars(s: &str) -> Vec<&str> {
    s.char_indices()
        .map(|(i, c)| &s[i..i + c.len_utf8()])
        .collect()
}

fn shape_with(hb: &HbFace<'_>, text: &str, id: FaceId) -> ShapedRun {
    let face = &hb.face;
    let upm = face.units_per_em().max(1) as f32;
    let mut buf = rustybuzz::UnicodeBuffer::new();
    // tabs and other controls shape as spaces
    if text.chars().any(char::is_control) {
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        buf.push_str(&clean);
    } else {
        buf.push_str(text);
    }
    if text.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        // what guess_segment_properties finds for printable ASCII, without a script look-up
        // per character: Latin when there is a letter (the rest is Common), left to right
        if text.bytes().any(|b| b.is_ascii_alphabetic()) {
            buf.set_script(rustybuzz::script::LATIN);
        }
        buf.set_direction(rustybuzz::Direction::LeftToRight);
    } else {
        buf.guess_segment_properties();
    }
    let (dir, script) = (buf.direction(), buf.script());
    let plan = {
        let found = hb
            .plans
            .borrow()
            .iter()
            .find(|p| p.0 == dir && p.1 == script)
            .map(|p| p.2.clone());
        match found {
            Some(p) => p,
            None => {
                let p = Rc::new(rustybuzz::ShapePlan::new(
                    face,
                    dir,
                    (script != rustybuzz::script::UNKNOWN).then_some(script),
                    buf.language().as_ref(),
                    &[],
                ));
                hb.plans.borrow_mut().push((dir, script, p.clone()));
                p
            }
        }
    };
    let out = rustybuzz::shape_with_plan(face, &plan, buf);
    let mut width = 0.0;
    let glyphs = out
        .glyph_infos()
        .iter()
        .zip(out.glyph_positions())
        .map(|(i, p)| {
            let g = ShapedGlyph {
                id: u16::try_from(i.glyph_id).unwrap_or(0),
                cluster: i.cluster,
                x_advance: p.x_advance as f32 / upm,
                x_offset: p.x_offset as f32 / upm,
                y_offset: p.y_offset as f32 / upm,
            };
            width += g.x_advance;
            g
        })
        .collect();
    ShapedRun {
        face: id,
        text: text.to_owned(),
        glyphs,
        width_em: width,
    }
}

impl engine::page::TextMeasurer for TextLayout<'_> {
    fn text_height(&self, text: &str, style: &TextStyle, width: Len) -> Len {
        let face = self.face_for(style);
        // one line of ASCII text well inside the width (by nominal advances): one line high,
        // nothing shaped or kept (the renderer shapes what it draws)
        if text.len() <= 256
            && let Some(adv) = self.ascii_advances(face)
        {
            let mut em = 0f32;
            let mut simple = true;
            for b in text.bytes() {
                match b {
                    0x20..=0x7e => em += adv[usize::from(b - 0x20)],
                    b'\t' => em += adv[0],
                    _ => {
                        simple = false;
                        break;
                    }
                }
            }
            let size_pt = to_pt(style.font_size) as f32;
            if simple && engine::instance::pt(f64::from(em * size_pt)) * 50 <= width * 49 {
                let vm = self.vmetrics(face);
                return engine::instance::pt(f64::from(
                    (vm.ascent + vm.descent + vm.gap) * size_pt,
                ));
            }
        }
        let key = (face, style.font_size, width);
        if let Some(h) = self
            .cache
            .borrow()
            .heights
            .get(&key)
            .and_then(|m| m.get(text))
        {
            return *h;
        }
        let h: Len = self
            .layout(&[(text, style)], width)
            .iter()
            .map(|l| l.height)
            .sum();
        let mut c = self.cache.borrow_mut();
        self.reserve(&mut c, text.len() + 96);
        c.heights.entry(key).or_default().insert(text.into(), h);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::page::TextMeasurer;

    fn reg() -> Option<FontRegistry> {
        match FontRegistry::load_default() {
            Ok(r) => Some(r),
            Err(e) => {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("{e}");
                }
                println!("skipped: {e}");
                None
            }
        }
    }

    fn style(family: &str, size: f64) -> TextStyle {
        TextStyle {
            font_family: family.into(),
            font_size: engine::instance::pt(size),
            ..TextStyle::default()
        }
    }

    #[test]
    fn css_stacks() {
        assert_eq!(
            css_font_stack("Arial"),
            "\"Arial\", \"Liberation Sans\", \"Arimo\", sans-serif"
        );
        assert_eq!(
            css_font_stack("Calibri"),
            "\"Calibri\", \"Carlito\", sans-serif"
        );
        assert_eq!(
            css_font_stack("Foo\"Bar"),
            "\"FooBar\", \"DejaVu Sans\", \"Liberation Sans\", sans-serif"
        );
        assert!(css_font_stack("Courier New").ends_with("monospace"));
    }

    #[test]
    fn substitution_table_with_installed_fonts() {
        let Some(r) = reg() else { return };
        let fam = |n: &str| {
            let res = r.resolve(n, 400, false);
            (r.info(res.face).unwrap().family.clone(), res.warning)
        };
        assert_eq!(fam("Arial"), ("Liberation Sans".into(), None));
        assert_eq!(fam("Helvetica").0, "Liberation Sans");
        assert_eq!(fam("Times New Roman").0, "Liberation Serif");
        assert_eq!(fam("Courier New").0, "Liberation Mono");
        assert_eq!(fam("Calibri"), ("Carlito".into(), None));
        assert_eq!(fam("Cambria").0, "Caladea");
        let (f, w) = fam("Segoe UI");
        assert_eq!(f, "Liberation Sans");
        assert!(w.unwrap().contains("\"Segoe UI\""));
        let (f, w) = fam("No Such Font 123");
        assert_eq!(f, "DejaVu Sans");
        assert!(w.is_some());
        let bold = r.resolve("Arial", 700, false).face;
        assert_eq!(r.info(bold).unwrap().weight, 700);
        assert!(r.info(bold).unwrap().embeddable);
    }

    #[test]
    fn plain_glyphs_and_kept_layouts_match_layout() {
        let Some(r) = reg() else { return };
        let l = TextLayout::new(&r);
        let st = style("Arial", 10.0);
        // what plain_glyphs places is what shape places without shaping
        for t in ["12/31/2024", "1,234.56", "(42) -7"] {
            let p = l.plain_glyphs(t, &st).expect(t);
            let shaped = l.shape(t, &st);
            assert_eq!(shaped.len(), 1, "{t}");
            assert_eq!(p.face, shaped[0].face);
            for (b, g) in t.bytes().zip(&shaped[0].glyphs) {
                assert_eq!(p.glyph(b), (g.id, g.x_advance), "{t}");
            }
        }
        assert!(l.plain_glyphs("Customer 12", &st).is_none());
        assert!(l.plain_glyphs("", &st).is_none());
        // a laid-out run is kept from its second layout on, and is layout's
        let w = engine::instance::pt(40.0);
        let text = "1/1/2024 12:00:00 AM";
        let direct = l.layout(&[(text, &st)], w);
        assert!(direct.len() > 1, "wraps at 40pt");
        let a = l.layout_run(text, &st, w);
        let b = l.layout_run(text, &st, w);
        let c = l.layout_run(text, &st, w);
        assert!(!Rc::ptr_eq(&a, &b), "not kept the first time");
        assert!(Rc::ptr_eq(&b, &c), "kept the second time");
        let dims = |v: &[LineLayout]| {
            v.iter()
                .map(|x| (x.width, x.ascent, x.height, x.pieces.len()))
                .collect::<Vec<_>>()
        };
        assert_eq!(dims(&direct), dims(&a));
        assert_eq!(dims(&direct), dims(&c));
        // another width is another entry
        let d = l.layout_run(text, &st, engine::instance::pt(400.0));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn numbers_placed_without_shaping_match_shaping() {
        let Some(r) = reg() else { return };
        let l = TextLayout::new(&r);
        let texts = [
            "12/31/2024",
            "1,234.56",
            "11 111 1111",
            "(42) -7 +3 $5 %9",
            "12:00:00",
            "0.00",
            "7",
        ];
        let mut placed = 0;
        for family in ["Arial", "Times New Roman", "Courier New", "DejaVu Sans"] {
            let s = style(family, 10.0);
            let id = l.face_for(&s);
            let hb = l.hb_face(id).expect("face");
            let plain = l.plain_set(id, &hb);
            for t in texts {
                let shaped = shape_with(&hb, t, id);
                let got = l.shape(t, &s);
                assert_eq!(got.len(), 1, "{family} {t:?}");
                assert_eq!(*got[0], shaped, "{family} {t:?}");
                if plain
                    .as_ref()
                    .is_some_and(|p| t.bytes().all(|b| p.bytes & (1u128 << b) != 0))
                {
                    placed += 1;
                }
            }
        }
        println!("{placed} texts placed without shaping");
    }

    #[test]
    fn real_metrics_wrap() {
        let Some(r) = reg() else { return };
        let l = TextLayout::new(&r);
        let s = style("Arial", 10.0);
        // "Hello" in Liberation Sans 10pt: H 1479 + e 1139 + l 455 ×2 + o 1139 = 4667/2048 em
        let lines = l.layout(&[("Hello", &s)], engine::instance::pt(500.0));
        assert_eq!(lines.len(), 1);
        let expect = engine::instance::pt(4667.0 / 2048.0 * 10.0);
        assert!(
            (lines[0].width - expect).abs() <= 2,
            "{} vs {expect}",
            lines[0].width
        );
        let one = l.text_height("Hello", &s, engine::instance::pt(500.0));
        let three = l.text_height("Hello Hello Hello", &s, engine::instance::pt(30.0));
        assert_eq!(three, one * 3);
        // Arial's line height is 1.149 em
        assert!((one - engine::instance::pt(11.49)).abs() < 40, "{one}");
        let (hits, _, bytes) = l.cache_stats();
        assert!(hits > 0 && bytes > 0);
    }

    #[test]
    fn fallback_for_missing_glyphs() {
        let Some(r) = reg() else { return };
        let l = TextLayout::new(&r);
        // Liberation Sans has no U+2654 (chess king); DejaVu Sans has it
        let runs = l.shape("a\u{2654}b", &style("Arial", 10.0));
        assert_eq!(runs.len(), 3);
        assert_eq!(r.info(runs[1].face).unwrap().family, "DejaVu Sans");
        assert!(runs[1].glyphs.iter().all(|g| g.id != 0));
    }

    #[test]
    fn corrupt_font_is_skipped_and_no_font_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.ttf"), b"this is not a font").unwrap();
        let e = FontRegistry::load(&[dir.path().to_owned()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("fonts-liberation2") && e.contains("fonts-dejavu-core"),
            "{e}"
        );
        let Some(r) = reg() else { return };
        let good = r
            .info(r.resolve("Arial", 400, false).face)
            .unwrap()
            .path
            .clone();
        std::fs::copy(&good, dir.path().join("good.ttf")).unwrap();
        let r2 = FontRegistry::load(&[dir.path().to_owned()]).unwrap();
        assert_eq!(r2.faces().len(), 1);
        assert!(
            r2.warnings.iter().any(|w| w.contains("broken.ttf")),
            "{:?}",
            r2.warnings
        );
    }
}
