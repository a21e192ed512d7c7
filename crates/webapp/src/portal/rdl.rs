//! Acceptance check of an uploaded report definition: well-formed XML whose root element is
//! `Report` (any namespace, as RDL 2005-2016 all use `Report`), without DOCTYPE.
//!
//! A DOCTYPE is refused outright: RDL never needs one, and DTDs bring entity definitions
//! (expansion bombs, external entities that read files or URLs). quick-xml does not expand
//! entities itself; refusing the declaration keeps any later consumer of the stored RDL
//! safe as well. Only the five predefined entities and character references are accepted.
//!
//! Pure: bytes in, a reason out. Nothing is stored or fetched.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Deepest element nesting accepted (real RDL nests a few dozen levels).
const MAX_DEPTH: usize = 256;

/// Ok when `bytes` is acceptable RDL; otherwise why not, in words a user can act on.
pub(crate) fn validate(bytes: &[u8]) -> Result<(), String> {
    let mut reader = Reader::from_reader(bytes);
    let cfg = reader.config_mut();
    cfg.check_end_names = true;
    cfg.check_comments = true;
    cfg.allow_unmatched_ends = false;
    let mut depth = 0usize;
    let mut root_seen = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "it is not well-formed XML (at byte {}): {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::DocType(_) => {
                return Err("it contains a DOCTYPE declaration; RDL needs none, and reportd refuses DTDs and entity definitions (they can expand without bound or read files): remove the <!DOCTYPE ...> part".into());
            }
            Event::Start(e) if depth == 0 => {
                check_root(&e, &mut root_seen)?;
                depth = 1;
            }
            Event::Empty(e) if depth == 0 => check_root(&e, &mut root_seen)?,
            Event::Start(e) => {
                check_attributes(&e)?;
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!("its elements nest deeper than {MAX_DEPTH} levels"));
                }
            }
            Event::Empty(e) => check_attributes(&e)?,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| {
                    format!("it uses an entity reference that is not one of XML's five predefined entities ({e})")
                })?;
                if depth == 0 && !text.trim().is_empty() {
                    return Err("it has text outside the root element".into());
                }
            }
            Event::CData(_) if depth == 0 => {
                return Err("it has a CDATA section outside the root element".into());
            }
            Event::Eof => break,
            _ => {} // declaration, comments, processing instructions, CDATA inside elements
        }
    }
    if !root_seen {
        return Err(
            "it is empty or has no root element; an RDL file has one <Report> element".into(),
        );
    }
    if depth != 0 {
        return Err("it ends before all elements are closed (the file may be truncated)".into());
    }
    Ok(())
}

fn check_root(e: &BytesStart<'_>, root_seen: &mut bool) -> Result<(), String> {
    if *root_seen {
        return Err(
            "it has more than one root element; an RDL file has exactly one <Report> element"
                .into(),
        );
    }
    *root_seen = true;
    let local = e.local_name();
    if local.as_ref() != b"Report" {
        return Err(format!(
            "its root element is <{}>, not <Report>; is it a report definition (.rdl) at all?",
            String::from_utf8_lossy(local.as_ref())
        ));
    }
    check_attributes(e)
}

/// Attributes must be well formed, unique, and use only predefined entities.
fn check_attributes(e: &BytesStart<'_>) -> Result<(), String> {
    for a in e.attributes() {
        let a = a.map_err(|err| format!("it has a malformed attribute: {err}"))?;
        a.unescape_value().map_err(|err| {
            format!("an attribute uses an entity reference that is not predefined ({err})")
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_minimal_report_with_namespace_and_bom() {
        let rdl = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- c -->\n<Report xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition\"><Body a=\"x &amp; y\">&lt;text&gt; &#65;</Body><Page/></Report>\n";
        validate(rdl.as_bytes()).unwrap();
        validate(b"<rd:Report xmlns:rd=\"urn:x\"/>").unwrap();
    }

    #[test]
    fn refuses_with_reasons() {
        let cases: [(&[u8], &str); 9] = [
            (b"", "no root element"),
            (b"<Report><Body></Report>", "not well-formed"),
            (b"<Report>", "ends before"),
            (b"<Html></Html>", "<Html>, not <Report>"),
            (
                b"<!DOCTYPE Report [<!ENTITY a \"b\">]><Report>&a;</Report>",
                "DOCTYPE",
            ),
            (b"<Report>&xxe;</Report>", "entity reference"),
            (b"<Report/><Report/>", "more than one root"),
            (b"<Report/>trailing", "outside the root"),
            (b"<Report a=\"1\" a=\"2\"/>", "malformed attribute"),
        ];
        for (input, want) in cases {
            let why = validate(input).unwrap_err();
            assert!(
                why.contains(want),
                "{}: {why}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn shared_sample_reports_are_accepted() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/rdl");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            println!("skipped: ../shared not present");
            return;
        };
        let mut n = 0;
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "rdl") {
                let bytes = std::fs::read(e.path()).unwrap();
                validate(&bytes).unwrap_or_else(|why| panic!("{}: {why}", e.path().display()));
                n += 1;
            }
        }
        assert!(n > 0, "no .rdl in {}", dir.display());
    }
}
