//! Charts and gauges in PDF: the SVG the engine drew for a chart or gauge panel (an image
//! of type `image/svg+xml`) drawn onto the page as vectors, its text as real, selectable
//! and searchable text in the substituted face of Arial (Liberation Sans), through
//! `krilla-svg`.
//!
//! Owns: the font database the SVG's text is set in (the regular and bold faces the
//! registry resolves for Arial, loaded once per render), bounds on the SVG it accepts.
//! Must not: draw anything but SVG images, or read fonts from anywhere but the registry.

use std::sync::Arc;

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

/// The fonts SVG text is set in: Arial's substitutes, regular and bold.
pub fn font_db(reg: &FontRegistry) -> Arc<usvg::fontdb::Database> {
    let mut db = usvg::fontdb::Database::new();
    let mut family = None;
    for weight in [400, 700] {
        let face = reg.resolve("Arial", weight, false).face;
        if let Some(data) = reg.data(face) {
            db.load_font_data(data.to_vec());
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
