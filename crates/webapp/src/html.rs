//! Small text helpers shared by the pages: HTML escaping for hand-built pages, URL
//! encoding of catalog paths, and the date formats the pages show.
//!
//! Pure functions; no I/O, no knowledge of requests.

use catalog::ItemPath;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// Everything but RFC 3986 unreserved characters is encoded: the result is safe in a query
/// component (no `&`, `=`, `+`, `#`), in a path segment (no `/`) and inside an HTML
/// attribute (no quotes, `<`, `>`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `s` to `out` with `& < > " '` escaped, for text and quoted attributes.
pub(crate) fn escape(s: &str, out: &mut String) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// Percent-encodes a whole value for a query component (`/Sales Data` → `%2FSales%20Data`).
pub(crate) fn encode_component(s: &str) -> impl std::fmt::Display + '_ {
    utf8_percent_encode(s, COMPONENT)
}

/// The URL path form of an item path: each segment percent-encoded, joined by `/`, no
/// leading slash (`/A b/C` → `A%20b/C`); empty for the root.
pub(crate) fn encode_path_segments(path: &ItemPath) -> String {
    let mut out = String::with_capacity(path.as_str().len() + 8);
    for (i, seg) in path.segments().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(utf8_percent_encode(seg, COMPONENT));
    }
    out
}

/// Decodes one query component: `+` is a space, then percent-decoding; invalid UTF-8 is
/// refused (None).
pub(crate) fn decode_component(raw: &str) -> Option<String> {
    let plus = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

const SSRS_DATE: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:long], [month repr:long] [day padding:none], [year] [hour repr:12 padding:none]:[minute] [period case:upper]"
);

const SHORT_DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute] UTC");

/// "Tuesday, November 25, 2026 6:12 PM" (UTC), as the SSRS folder page shows dates.
pub(crate) fn ssrs_date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(SSRS_DATE)
        .unwrap_or_default()
}

/// "2026-11-25 18:12 UTC", for the portal.
pub(crate) fn short_date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(SHORT_DATE)
        .unwrap_or_default()
}

/// "1.5 KB"-style sizes.
pub(crate) fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        let mut s = String::new();
        escape("<a href=\"x\">&'", &mut s);
        assert_eq!(s, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn component_round_trips_through_decode() {
        for p in ["/Sales Data", "/a+b&c=d#e?f%g", "/Überblick/Ä ö"] {
            let enc = encode_component(p).to_string();
            assert!(!enc.contains(['&', '=', '+', '/', ' ', '#']), "{enc}");
            assert_eq!(decode_component(&enc).unwrap(), p);
        }
        assert_eq!(decode_component("%2fSales+Data").unwrap(), "/Sales Data");
        assert!(decode_component("%ff").is_none());
    }

    #[test]
    fn date_is_in_the_ssrs_shape() {
        let t = time::macros::datetime!(2026-11-24 18:12 UTC);
        assert_eq!(ssrs_date(t), "Tuesday, November 24, 2026 6:12 PM");
        assert_eq!(short_date(t), "2026-11-24 18:12 UTC");
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(12), "12 B");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MB");
    }
}
