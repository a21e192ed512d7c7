//! Charts and gauges in PDF: the SVG the engine drew for a chart or gauge panel (an image
//! of type `image/svg+xml`) drawn onto the page as vectors, its text as real, selectable
//! and searchable text in the substituted face of Arial (Liberation Sans), through
//! `krilla-svg`.
//!
//! Owns: the font database the SVG's text is set in (the regular and bold faces the
//! registry resolves for Arial, built once per registry), bounds on the SVG it accepts.
//! Must not: draw anything but SVG images, or read fonts from anywhere but the registry.

use std::sync::{Arc, Mutex};

use fonts::FontRegistry;
use krilla::geom::{Size, Transform};
use krilla::surface::Surface;
use krilla_svg::{SurfaceExt, SvgSettings};

/// Largest SVG drawn (the engine caps chart points, so its SVGs stay far below this).
pub const MAX_SVG_BYTES: usize = 32 << 20;

/// True for the MIME type of chart and gauge images.
pub fn is_svg(mime: &str) -> bool {
    mime.eq_ignore_ascii_case("image/svg+xml")
}

/// The last font database built, by the registry's faces it was built from: a registry is
/// loaded once per process, so every chart of every render reuses one database instead of
/// copying the font files per chart.
type DbCache = Mutex<Option<(Vec<(u32, usize)>, Arc<usvg::fontdb::Database>)>>;
static DB_CACHE: DbCache = Mutex::new(None);

/// The fonts SVG text is set in: Arial's substitutes, regular and bold.
pub fn font_db(reg: &FontRegistry) -> Arc<usvg::fontdb::Database> {
    // identify the faces by id and the address of their (shared, immutable) data
    let key: Vec<(u32, usize)> = [400, 700]
        .iter()
        .map(|&w| {
            let f = reg.resolve("Arial", w, false).face;
            let at = reg.data(f).map_or(0, |d| d.as_ptr() as usize);
            (f.0, at)
        })
        .collect();
    let mut cache = DB_CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((k, db)) = cache.as_ref()
        && *k == key
    {
        return db.clone();
    }
    let db = build_db(reg);
    *cache = Some((key, db.clone()));
    db
}

fn build_db(reg: &FontRegistry) -> Arc<usvg::fontdb::Database> {
    let mut db = usvg::fontdb::Database::new();
    let mut family = None;
    for weight in [400, 700] {
        let face = reg.resolve("Arial", weight, false).face;
        if let Some(data) = reg.data(face) {
            // shares the registry's bytes, no copy
            db.load_font_source(usvg::fontdb::Source::Binary(Arc::new(data)));
            if family.is_none() {
                family = reg.info(face).map(|i| i.family.clone());
            }
        }
    }
    if let Some(f) = family {
        db.set_sans_serif_family(f);
    }
    Arc::new(db)
}

/// Draws `svg` into the rectangle at (`x`, `y`) of `w` × `h` points.
pub fn draw(
    s: &mut Surface<'_>,
    (x, y, w, h): (f32, f32, f32, f32),
    svg: &[u8],
    db: &Arc<usvg::fontdb::Database>,
) -> Result<(), String> {
    if svg.len() > MAX_SVG_BYTES {
        return Err(format!(
            "its SVG is larger than {} MiB",
            MAX_SVG_BYTES >> 20
        ));
    }
    let opts = usvg::Options {
        fontdb: db.clone(),
        ..usvg::Options::default()
    };
    let tree =
        usvg::Tree::from_data(svg, &opts).map_err(|e| format!("its SVG does not parse: {e}"))?;
    let size = Size::from_wh(w.max(0.01), h.max(0.01)).ok_or("it has no size")?;
    s.push_transform(&Transform::from_translate(x, y));
    let drawn = s.draw_svg(&tree, size, SvgSettings::default());
    s.pop();
    drawn.ok_or_else(|| "its SVG could not be drawn".to_owned())
}
