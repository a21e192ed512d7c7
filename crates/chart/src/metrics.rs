//! Text widths from the Helvetica advance widths (1/1000 em), which Arial and Liberation
//! Sans share, so chart layout needs no font files and is identical in every format.
//! Characters outside printable ASCII count as the average lowercase width.

/// Advance widths of ASCII 32..=126 in 1/1000 em.
const WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // sp../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0..9
    278, 278, 584, 584, 584, 556, 1015, // :..@
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
    611, 722, 667, 944, 667, 667, 611, // A..Z
    278, 278, 278, 469, 556, 333, // [..`
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
    278, 556, 500, 722, 500, 500, 500, // a..z
    334, 260, 334, 584, // {..~
];

/// Bold widths are about 6 % wider on average (Helvetica-Bold).
const BOLD_FACTOR: f64 = 1.06;

/// The width of `text` at `size` points.
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let units: u32 = text
        .chars()
        .map(|c| {
            let i = c as u32;
            if (32..=126).contains(&i) {
                u32::from(WIDTHS[(i - 32) as usize])
            } else {
                556
            }
        })
        .sum();
    let w = f64::from(units) * size / 1000.0;
    if bold { w * BOLD_FACTOR } else { w }
}

/// `text` cut (with an ellipsis) to fit `max` points.
pub fn fit(text: &str, size: f64, bold: bool, max: f64) -> String {
    if text_width(text, size, bold) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if text_width(&out, size, bold) + text_width("…", size, bold) > max {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_helvetica() {
        assert!((text_width("0", 10.0, false) - 5.56).abs() < 1e-9);
        assert!(text_width("WWW", 10.0, false) > text_width("iii", 10.0, false));
        assert_eq!(fit("short", 10.0, false, 100.0), "short");
        let f = fit("a very long category label", 10.0, false, 40.0);
        assert!(
            f.ends_with('…') && text_width(&f, 10.0, false) <= 40.0 + 1e-9,
            "{f}"
        );
    }
}
