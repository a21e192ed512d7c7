//! IMAGE output (`rs:Format=IMAGE`): PNG decoded back with the right pixel size for the
//! DPI, a known text's pixels dark where `pdftotext -bbox` places it in the PDF of the same
//! render, multi-page TIFF, and bad input (DPI, page sizes, a broken image) as clear errors
//! or bounded, warned results.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use engine::Instance;
use engine::instance::{
    ImageSource, Item, ItemKind, PageSettings, Paragraph, Run, Section, Textbox, UM_PER_INCH,
};
use fonts::FontRegistry;
use render::DeviceInfo;
use render::image::{ImageOptions, OutputFormat};

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn fonts() -> Option<FontRegistry> {
    match FontRegistry::load_default() {
        Ok(r) => Some(r),
        Err(e) => {
            assert!(!ci(), "{e}");
            println!("skipped: {e}");
            None
        }
    }
}

fn textbox(text: &str, top: i64, size_pt: f64) -> Item {
    let style = engine::instance::TextStyle {
        font_size: engine::instance::pt(size_pt),
        font_weight: 700,
        ..Default::default()
    };
    let mut it = Item::new(
        "T",
        ItemKind::Textbox(Box::new(Textbox {
            paragraphs: vec![Paragraph {
                runs: vec![Run {
                    text: text.into(),
                    value: rdl::Value::Str(text.into()),
                    style,
                    action: None,
                    format: None,
                }],
                align: Default::default(),
                left_indent: 0,
            }],
            value: rdl::Value::Str(text.into()),
            constant: false,
            element_style: None,
            action: None,
            toggle: None,
            sort: None,
            can_grow: true,
            can_shrink: false,
        })),
    );
    it.top = top;
    it.left = UM_PER_INCH;
    it.width = 5 * UM_PER_INCH;
    it.height = UM_PER_INCH / 2;
    it
}

/// Pages of one big word each, at 1in and 3in from the body top.
fn report(pages: usize, extra: Vec<Item>) -> Instance {
    let mut body = Vec::new();
    for p in 0..pages {
        let mut t = textbox(&format!("HELLO{}", p + 1), 0, 24.0);
        t.top = UM_PER_INCH + p as i64 * 10 * UM_PER_INCH;
        body.push(t);
    }
    body.extend(extra);
    Instance {
        name: "Img".into(),
        description: String::new(),
        author: String::new(),
        language: "en-US".into(),
        execution_time: time::macros::datetime!(2026-12-01 10:30:00),
        data_element_name: "Report".into(),
        data_schema: None,
        data_element_style: Default::default(),
        sections: vec![Section {
            body,
            body_height: UM_PER_INCH,
            body_width: 6 * UM_PER_INCH,
            body_style: Default::default(),
            page: PageSettings {
                margins: [UM_PER_INCH / 2; 4],
                ..PageSettings::default()
            },
            header: None,
            footer: None,
        }],
        warning_log: Default::default(),
        initial_page_name: String::new(),
    }
}

fn opts(rc: &[(&str, &str)]) -> Result<ImageOptions, render::RenderError> {
    let m: HashMap<String, String> = rc
        .iter()
        .map(|(k, v)| (format!("rc:{k}"), v.to_string()))
        .collect();
    ImageOptions::from_device_info(&DeviceInfo::new(&m))
}

fn image(inst: &Instance, reg: &FontRegistry, rc: &[(&str, &str)]) -> (Vec<u8>, Vec<String>) {
    let mut out = Vec::new();
    let s = render::image::render(inst, reg, &opts(rc).unwrap(), &mut out).unwrap();
    (out, s.warnings)
}

/// Decodes a PNG to (width, height, RGB bytes).
fn decode_png(b: &[u8]) -> (u32, u32, Vec<u8>) {
    let d = png::Decoder::new(std::io::Cursor::new(b));
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// The bounding box (points: x0, y0, x1, y1) of `word` on page 1 of the PDF of `inst`.
fn pdf_bbox(inst: &Instance, reg: &FontRegistry, word: &str) -> Option<(f64, f64, f64, f64)> {
    let mut pdf = Vec::new();
    render::pdf::render(inst, reg, &Default::default(), &mut pdf).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let o = match Command::new("pdftotext")
        .args(["-bbox", "-f", "1", "-l", "1"])
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert!(!ci(), "pdftotext is not installed (poppler-utils): {e}");
            println!("skipped: pdftotext not installed ({e})");
            return None;
        }
    };
    let html = String::from_utf8(o.stdout).unwrap();
    let l = html
        .lines()
        .find(|l| l.contains(&format!(">{word}</word>")))
        .unwrap_or_else(|| panic!("{word} not in {html}"));
    let attr = |a: &str| -> f64 {
        let k = format!("{a}=\"");
        let s = &l[l.find(&k).unwrap() + k.len()..];
        s[..s.find('"').unwrap()].parse().unwrap()
    };
    Some((attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")))
}

/// Share of dark pixels (sum of RGB < 300) in a rectangle given in points at `dpi`.
fn dark_share(
    (w, _h, rgb): &(u32, u32, Vec<u8>),
    dpi: f64,
    (x0, y0, x1, y1): (f64, f64, f64, f64),
) -> f64 {
    let k = dpi / 72.0;
    let (px0, py0, px1, py1) = (
        (x0 * k) as u32,
        (y0 * k) as u32,
        (x1 * k).ceil() as u32,
        (y1 * k).ceil() as u32,
    );
    let mut dark = 0u32;
    let mut all = 0u32;
    for y in py0..py1 {
        for x in px0..px1 {
            let i = ((y * w + x) * 3) as usize;
            let s: u32 = rgb[i..i + 3].iter().map(|&v| u32::from(v)).sum();
            all += 1;
            if s < 300 {
                dark += 1;
            }
        }
    }
    f64::from(dark) / f64::from(all.max(1))
}

#[test]
fn png_has_the_dpi_size_and_dark_text_where_the_pdf_puts_it() {
    let Some(reg) = fonts() else { return };
    let inst = report(2, Vec::new());
    for dpi in [96u32, 150] {
        let d = dpi.to_string();
        let (png, warnings) = image(&inst, &reg, &[("DpiX", &d), ("DpiY", &d)]);
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        assert!(warnings.is_empty(), "{warnings:?}");
        let img = decode_png(&png);
        // letter paper: 8.5in x 11in
        assert_eq!(
            (img.0, img.1),
            ((8.5 * f64::from(dpi)) as u32, 11 * dpi),
            "{dpi} dpi"
        );
        let Some(bbox) = pdf_bbox(&inst, &reg, "HELLO1") else {
            return;
        };
        let inside = dark_share(&img, f64::from(dpi), bbox);
        assert!(
            inside > 0.15,
            "{dpi} dpi: only {inside} of {bbox:?} is dark"
        );
        // the same box one inch lower is blank paper
        let below = (bbox.0, bbox.1 + 72.0, bbox.2, bbox.3 + 72.0);
        assert_eq!(dark_share(&img, f64::from(dpi), below), 0.0);
    }
    // StartPage picks the page of a PNG; the second page shows HELLO2 at its body top, one
    // inch higher than HELLO1 (which sits 1in below the body top)
    let (p2, _) = image(&inst, &reg, &[("StartPage", "2")]);
    let img2 = decode_png(&p2);
    let Some(b1) = pdf_bbox(&inst, &reg, "HELLO1") else {
        return;
    };
    assert!(dark_share(&img2, 96.0, (b1.0, b1.1 - 72.0, b1.2, b1.3 - 72.0)) > 0.15);
    assert_eq!(dark_share(&img2, 96.0, b1), 0.0);
    // a page past the end is a clear error
    let mut out = Vec::new();
    let e = render::image::render(&inst, &reg, &opts(&[("StartPage", "9")]).unwrap(), &mut out)
        .unwrap_err();
    assert!(e.to_string().contains("the report has 2 pages"), "{e}");
}

#[test]
fn tiff_holds_every_page() {
    let Some(reg) = fonts() else { return };
    let inst = report(3, Vec::new());
    let o = opts(&[("OutputFormat", "TIFF"), ("DpiX", "72"), ("DpiY", "72")]).unwrap();
    assert_eq!(o.format, OutputFormat::Tiff);
    let mut out = Vec::new();
    let s = render::image::render(&inst, &reg, &o, &mut out).unwrap();
    assert_eq!((s.pages, s.total_pages), (3, 3));
    let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(out)).unwrap();
    let mut n = 0;
    loop {
        n += 1;
        assert_eq!(d.dimensions().unwrap(), (612, 792), "page {n}");
        // every page decodes, RGB, with its HELLO<n> drawn dark near the top left
        let tiff::decoder::DecodingResult::U8(px) = d.read_image().unwrap() else {
            panic!("page {n} is not 8-bit");
        };
        assert_eq!(px.len(), 612 * 792 * 3);
        let dark = px
            .chunks_exact(3)
            .enumerate()
            .filter(|(i, p)| i / 612 < 200 && p[0] < 100 && p[1] < 100 && p[2] < 100)
            .count();
        assert!(dark > 50, "page {n}: {dark} dark pixels");
        if !d.more_images() {
            break;
        }
        d.next_image().unwrap();
    }
    assert_eq!(n, 3);
}

#[test]
fn bad_settings_and_sizes_are_errors_or_bounded_with_a_warning() {
    let Some(reg) = fonts() else { return };
    for (k, v, needle) in [
        ("OutputFormat", "BMP", "PNG or TIFF"),
        ("DpiX", "0", "1 to 1200"),
        ("DpiY", "100000", "1 to 1200"),
        ("PageWidth", "wide", "not a size"),
    ] {
        let e = opts(&[(k, v)]).unwrap_err().to_string();
        assert!(e.contains(k) && e.contains(needle), "{k}={v}: {e}");
    }
    // page sides outside 0.5in..160in are errors naming the setting and the range
    for (k, v) in [("PageWidth", "1000in"), ("PageHeight", "0in")] {
        let e = opts(&[(k, v)]).unwrap_err().to_string();
        assert!(e.contains(k) && e.contains("0.5in..160in"), "{k}={v}: {e}");
    }
    let mut inst = report(1, Vec::new());
    inst.sections[0].page.width = 1000 * UM_PER_INCH;
    let e = render::image::render(&inst, &reg, &opts(&[]).unwrap(), &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the report's PageWidth") && e.contains("rc:PageWidth"),
        "{e}"
    );
    // 160in pages are drawn at a lower resolution, with a warning
    let inst = report(1, Vec::new());
    let (png, w) = image(
        &inst,
        &reg,
        &[("PageWidth", "160in"), ("PageHeight", "160in")],
    );
    let (pw, ph, _) = decode_png(&png);
    assert!(
        u64::from(pw) * u64::from(ph) <= render::image::MAX_PAGE_PIXELS + 2 * 16_000,
        "{pw}x{ph}"
    );
    assert!(w.iter().any(|w| w.contains("lower DpiX")), "{w:?}");
    // the smallest page, 0.5in, is 48 pixels at 96 dpi
    let (png, _) = image(&inst, &reg, &[("PageWidth", "0.5in")]);
    assert_eq!(decode_png(&png).0, 48);
    // an image that is not an image, and one that claims 50,000 x 50,000 pixels: warnings
    let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    huge.extend_from_slice(&50_000u32.to_be_bytes());
    huge.extend_from_slice(&50_000u32.to_be_bytes());
    huge.extend_from_slice(&[8, 6, 0, 0, 0]);
    let img = |data: Vec<u8>| {
        let mut it = Item::new(
            "Pic",
            ItemKind::Image(Box::new(engine::instance::Image {
                source: ImageSource::Embedded {
                    name: "p".into(),
                    mime: "image/png".into(),
                    data: Arc::from(data.as_slice()),
                },
                sizing: Default::default(),
                action: None,
                chart: None,
            })),
        );
        it.top = 3 * UM_PER_INCH;
        it.width = UM_PER_INCH;
        it.height = UM_PER_INCH;
        it
    };
    let inst = report(1, vec![img(b"GIF89a no".to_vec()[..4].to_vec()), img(huge)]);
    let (png, w) = image(&inst, &reg, &[]);
    assert!(png.starts_with(b"\x89PNG"));
    assert!(w.iter().any(|w| w.contains("not a PNG")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("50000x50000")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("crossed box")), "{w:?}");
    // the placeholders are drawn: grey pixels inside the images' boxes (1in = 96px, from
    // the top margin)
    let (pw, _, rgb) = decode_png(&png);
    let grey = rgb
        .chunks_exact(3)
        .enumerate()
        .filter(|(i, p)| {
            let (x, y) = ((*i as u32) % pw, (*i as u32) / pw);
            p[0] == p[1] && p[1] == p[2] && p[0] < 245 && x < 200 && y > 250
        })
        .count();
    assert!(grey > 100, "{grey} grey pixels");
}
