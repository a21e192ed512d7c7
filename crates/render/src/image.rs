//! IMAGE (`rs:Format=IMAGE`): the hard pages PDF draws, rasterised. Each page is written
//! as SVG ([`crate::svgpage`]) and drawn with resvg/tiny-skia (pure Rust) on white.
//!
//! Owns: IMAGE device information — `OutputFormat` (`PNG`, the default, or `TIFF`),
//! `DpiX`/`DpiY` (default 96, 1..=1200), `StartPage`/`EndPage` and the page settings PDF
//! reads; PNG is one page (`StartPage`, default 1, as SSRS), TIFF is every selected page in
//! one multi-page file, written to the output as pages are drawn (memory: one raster and one
//! compressed page, whatever the page count). A page whose raster would exceed
//! [`MAX_PAGE_PIXELS`] is drawn at a
//! lower resolution with a warning. Must not: open files or sockets (fonts come from the
//! caller's registry, the output goes to the caller's writer).

use std::io::Write;

use engine::Instance;
use engine::hardpage::paginate_hard_each;
use engine::instance::UM_PER_INCH;
use fonts::{FontRegistry, TextLayout};
use resvg::tiny_skia;

use crate::pdf::PdfOptions;
use crate::svgpage::{GlyphCache, page_svg};
use crate::{DeviceInfo, RenderError};

/// Most pixels of one page raster (width × height; 4 bytes each in memory).
pub const MAX_PAGE_PIXELS: u64 = 16_000_000;
/// Highest DPI accepted.
pub const MAX_DPI: u32 = 1200;

/// Raster file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// PNG: one page.
    #[default]
    Png,
    /// TIFF: all selected pages, one image file directory each.
    Tiff,
}

impl OutputFormat {
    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Png => "image/png",
            OutputFormat::Tiff => "image/tiff",
        }
    }
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Tiff => "tif",
        }
    }
}

/// IMAGE options from device information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOptions {
    /// Page size, margins, columns, page range (as PDF).
    pub pdf: PdfOptions,
    /// `OutputFormat`.
    pub format: OutputFormat,
    /// `DpiX`.
    pub dpi_x: u32,
    /// `DpiY`.
    pub dpi_y: u32,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            pdf: PdfOptions::default(),
            format: OutputFormat::Png,
            dpi_x: 96,
            dpi_y: 96,
        }
    }
}

impl ImageOptions {
    /// Reads `OutputFormat`, `DpiX`, `DpiY` and the page settings of
    /// [`PdfOptions::from_device_info`].
    pub fn from_device_info(d: &DeviceInfo) -> Result<ImageOptions, RenderError> {
        let pdf = PdfOptions::from_device_info(d)?;
        let format = match d
            .get("OutputFormat")
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("PNG") => OutputFormat::Png,
            Some("TIFF" | "TIF") => OutputFormat::Tiff,
            Some(other) => {
                return Err(RenderError::DeviceInfo {
                    setting: "OutputFormat",
                    problem: format!("{other:?} is not supported; use PNG or TIFF"),
                });
            }
        };
        let dpi = |name: &'static str| -> Result<u32, RenderError> {
            let v = d.uint(name, 96)?;
            if !(1..=MAX_DPI).contains(&v) {
                return Err(RenderError::DeviceInfo {
                    setting: name,
                    problem: format!("{v} dpi; use 1 to {MAX_DPI}"),
                });
            }
            Ok(v)
        };
        Ok(ImageOptions {
            pdf,
            format,
            dpi_x: dpi("DpiX")?,
            dpi_y: dpi("DpiY")?,
        })
    }
}

/// Why an IMAGE render failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A device-information setting is invalid; nothing was written.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// No font can be used.
    #[error(transparent)]
    Fonts(#[from] fonts::FontError),
    /// A page could not be rasterised or encoded.
    #[error("the image could not be written: {0}; report this with the report definition")]
    Encode(String),
    /// Writing the output failed (the client went away).
    #[error("writing the rendered output: {0}")]
    Io(#[from] std::io::Error),
}

/// A streamed detail row that cannot be bound (the render was cancelled).
impl From<engine::EngineError> for ImageError {
    fn from(e: engine::EngineError) -> Self {
        ImageError::Render(RenderError::Engine(e))
    }
}

/// What an IMAGE render produced.
#[derive(Debug, Clone, Default)]
pub struct ImageSummary {
    /// Pages drawn.
    pub pages: u32,
    /// Pages the report has.
    pub total_pages: u32,
    /// Pixel size of the first page drawn.
    pub first_size: (u32, u32),
    /// Non-fatal problems.
    pub warnings: Vec<String>,
}

/// Renders `inst` as PNG or TIFF into `out`.
pub fn render(
    inst: &Instance,
    fonts: &FontRegistry,
    opts: &ImageOptions,
    out: &mut impl Write,
) -> Result<ImageSummary, ImageError> {
    crate::pdf::check_page_size(inst, &opts.pdf.pages)?;
    let layout = TextLayout::new(fonts);
    let mut pages_opts = opts.pdf.pages;
    if opts.format == OutputFormat::Png {
        // one page: StartPage (default the first)
        pages_opts.start_page = pages_opts.start_page.max(1);
        pages_opts.end_page = pages_opts.start_page;
    }
    let mut glyphs = GlyphCache::default();
    let svg_opts = usvg::Options {
        fontdb: crate::chartsvg::font_db(fonts),
        ..usvg::Options::default()
    };
    // TIFF: written as pages come (one page held back: its directory points to the next)
    let mut tiff = match opts.format {
        OutputFormat::Tiff => Some(TiffStream::new(&mut *out)),
        OutputFormat::Png => None,
    };
    let mut png: Option<Vec<u8>> = None;
    let mut first_size = None;
    let mut page_warnings = Vec::new();
    let summary = paginate_hard_each(inst, &pages_opts, &layout, &mut |page| {
        let svg = page_svg(&page, &layout, &mut glyphs, &mut page_warnings);
        let tree = usvg::Tree::from_str(&svg, &svg_opts)
            .map_err(|e| ImageError::Encode(format!("page {}: {e}", page.number)))?;
        let (w_in, h_in) = (
            page.size.0 as f64 / UM_PER_INCH as f64,
            page.size.1 as f64 / UM_PER_INCH as f64,
        );
        let (mut dx, mut dy) = (f64::from(opts.dpi_x), f64::from(opts.dpi_y));
        let px = (w_in * dx).ceil() * (h_in * dy).ceil();
        if px > MAX_PAGE_PIXELS as f64 {
            let k = (MAX_PAGE_PIXELS as f64 / px).sqrt();
            dx *= k;
            dy *= k;
            page_warnings.push(format!(
                "a {w_in:.1}x{h_in:.1}in page at {}x{} dpi is more than {MAX_PAGE_PIXELS} pixels; \
                 it is drawn at {dx:.0}x{dy:.0} dpi (lower DpiX/DpiY or the page size)",
                opts.dpi_x, opts.dpi_y
            ));
        }
        let (pw, ph) = (
            ((w_in * dx).ceil() as u32).max(1),
            ((h_in * dy).ceil() as u32).max(1),
        );
        let mut pixmap = tiny_skia::Pixmap::new(pw, ph)
            .ok_or_else(|| ImageError::Encode(format!("a {pw}x{ph} raster")))?;
        pixmap.fill(tiny_skia::Color::WHITE);
        // the SVG is in points
        let (sx, sy) = ((dx / 72.0) as f32, (dy / 72.0) as f32);
        resvg::render(
            &tree,
            tiny_skia::Transform::from_scale(sx, sy),
            &mut pixmap.as_mut(),
        );
        first_size.get_or_insert((pw, ph));
        // opaque RGB: the page is on white
        let rgb: Vec<u8> = pixmap
            .data()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        match &mut tiff {
            Some(t) => {
                let mut z = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(rgb.len() / 8),
                    flate2::Compression::fast(),
                );
                z.write_all(&rgb)?;
                let data = z.finish()?;
                t.page(TiffPage {
                    size: (pw, ph),
                    dpi: (opts.dpi_x, opts.dpi_y),
                    data,
                })?;
            }
            None => {
                let mut buf = Vec::new();
                {
                    let mut enc = png::Encoder::new(&mut buf, pw, ph);
                    enc.set_color(png::ColorType::Rgb);
                    enc.set_depth(png::BitDepth::Eight);
                    enc.set_pixel_dims(Some(png::PixelDimensions {
                        xppu: (dx / 0.0254).round() as u32,
                        yppu: (dy / 0.0254).round() as u32,
                        unit: png::Unit::Meter,
                    }));
                    let mut wr = enc
                        .write_header()
                        .map_err(|e| ImageError::Encode(e.to_string()))?;
                    wr.write_image_data(&rgb)
                        .map_err(|e| ImageError::Encode(e.to_string()))?;
                }
                png = Some(buf);
            }
        }
        Ok::<(), ImageError>(())
    })?;
    let tiff_pages = match tiff.take() {
        Some(t) => t.finish()?,
        None => 0,
    };
    match (tiff_pages, png) {
        (1.., _) => {}
        (0, Some(p)) => out.write_all(&p)?,
        (0, None) => {
            return Err(ImageError::Render(RenderError::DeviceInfo {
                setting: "StartPage",
                problem: format!(
                    "page {} does not exist; the report has {} pages",
                    pages_opts.start_page, summary.total
                ),
            }));
        }
    }
    // the instance's (binding's, then those of page headers and rows bound while paginating)
    let mut warnings = inst.warnings();
    warnings.extend(summary.warnings);
    warnings.extend(layout.warnings());
    warnings.extend(page_warnings);
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    Ok(ImageSummary {
        pages: summary.rendered,
        total_pages: summary.total,
        first_size: first_size.unwrap_or((0, 0)),
        warnings,
    })
}

/// One page of a TIFF: RGB8 pixels in one Deflate-compressed strip.
struct TiffPage {
    size: (u32, u32),
    dpi: (u32, u32),
    data: Vec<u8>,
}

/// A multi-page baseline TIFF (little-endian) written to the output as pages come: each
/// page is its image file directory, then its strip. A directory names the offset of the
/// next one, so one compressed page is held until the next arrives or the file ends; the
/// header is written with the first page (no page: nothing written).
struct TiffStream<W: Write> {
    out: W,
    pos: u64,
    held: Option<TiffPage>,
    written: u32,
}

impl<W: Write> TiffStream<W> {
    fn new(out: W) -> Self {
        TiffStream {
            out,
            pos: 0,
            held: None,
            written: 0,
        }
    }

    fn page(&mut self, p: TiffPage) -> Result<(), ImageError> {
        if let Some(prev) = self.held.replace(p) {
            self.write(prev, true)?;
        }
        Ok(())
    }

    /// Writes the held page; returns the pages written.
    fn finish(mut self) -> Result<u32, ImageError> {
        if let Some(p) = self.held.take() {
            self.write(p, false)?;
        }
        self.out.flush()?;
        Ok(self.written)
    }

    fn write(&mut self, p: TiffPage, more: bool) -> Result<(), ImageError> {
        const ENTRIES: u64 = 13;
        if self.pos == 0 {
            // "II", 42, the first directory right after the header
            self.out.write_all(b"II\x2a\0\x08\0\0\0")?;
            self.pos = 8;
        }
        let ifd = self.pos;
        let ext = ifd + 2 + 12 * ENTRIES + 4; // bits per sample (6 + 2), x and y resolution
        let data = ext + 24;
        let len = p.data.len() as u64;
        let end = data + len + len % 2;
        if end > u64::from(u32::MAX) {
            return Err(ImageError::Encode(
                "the TIFF would be larger than 4 GiB; select fewer pages (StartPage/EndPage) or \
                 lower DpiX/DpiY"
                    .to_owned(),
            ));
        }
        let o = |v: u64| v as u32;
        let mut b = Vec::with_capacity((data - ifd) as usize);
        b.extend_from_slice(&(ENTRIES as u16).to_le_bytes());
        let mut entry = |tag: u16, kind: u16, count: u32, value: u32| {
            b.extend_from_slice(&tag.to_le_bytes());
            b.extend_from_slice(&kind.to_le_bytes());
            b.extend_from_slice(&count.to_le_bytes());
            b.extend_from_slice(&value.to_le_bytes());
        };
        const SHORT: u16 = 3;
        const LONG: u16 = 4;
        const RATIONAL: u16 = 5;
        entry(256, LONG, 1, p.size.0); // ImageWidth
        entry(257, LONG, 1, p.size.1); // ImageLength
        entry(258, SHORT, 3, o(ext)); // BitsPerSample 8,8,8
        entry(259, SHORT, 1, 8); // Compression: Deflate
        entry(262, SHORT, 1, 2); // PhotometricInterpretation: RGB
        entry(273, LONG, 1, o(data)); // StripOffsets
        entry(277, SHORT, 1, 3); // SamplesPerPixel
        entry(278, LONG, 1, p.size.1); // RowsPerStrip: one strip
        entry(279, LONG, 1, o(len)); // StripByteCounts
        entry(282, RATIONAL, 1, o(ext + 8)); // XResolution
        entry(283, RATIONAL, 1, o(ext + 16)); // YResolution
        entry(284, SHORT, 1, 1); // PlanarConfiguration: chunky
        entry(296, SHORT, 1, 2); // ResolutionUnit: inch
        b.extend_from_slice(&(if more { o(end) } else { 0 }).to_le_bytes());
        for v in [8u16, 8, 8, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for d in [p.dpi.0, p.dpi.1] {
            b.extend_from_slice(&d.to_le_bytes());
            b.extend_from_slice(&1u32.to_le_bytes());
        }
        debug_assert_eq!(b.len() as u64, data - ifd);
        self.out.write_all(&b)?;
        self.out.write_all(&p.data)?;
        if len % 2 == 1 {
            self.out.write_all(&[0])?; // directories start on a word boundary
        }
        self.pos = end;
        self.written += 1;
        Ok(())
    }
}
