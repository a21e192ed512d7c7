//! The upload check for report definitions (`.rdl`): bounded, linear in its input, and the
//! same parse a render uses, so a report that is accepted can be run.
//!
//! Order: size → a linear pre-scan of the markup (element count, attributes per element,
//! nesting depth, namespace declarations, DOCTYPE) → a full XML parse (roxmltree, DTDs off)
//! → root `Report` in an RDL namespace → the report parser ([`crate::parse`]) → expression
//! compilation ([`crate::compile`], whose errors are warnings of the summary). The pre-scan
//! exists so the XML parser, whose duplicate-attribute check is quadratic per element, only
//! ever sees bounded elements: a 100,000-attribute element is refused in one pass.
//!
//! A DOCTYPE is refused outright: RDL never needs one, and DTDs bring entity definitions
//! (expansion bombs, external entities that read files or URLs). Only XML's five predefined
//! entities and character references are accepted.
//!
//! Must not: store, fetch or log anything; it returns a summary or a reason.

use crate::error::{Location, ParseError, Positions};
use crate::model::Schema;

/// The bounds an upload is checked against. [`Limits::default`] suits the portal and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Most elements in the document.
    pub max_elements: usize,
    /// Most attributes (namespace declarations included) on one element.
    pub max_attributes: usize,
    /// Deepest element nesting (the root is depth 1).
    pub max_depth: usize,
    /// Most namespace declarations (`xmlns`, `xmlns:p`) in the whole document.
    pub max_namespace_declarations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 20,
            max_elements: 200_000,
            max_attributes: 64,
            max_depth: 256,
            max_namespace_declarations: 1024,
        }
    }
}

/// What an accepted definition is.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSummary {
    /// The RDL schema version of the root's namespace.
    pub schema: Schema,
    /// Elements in the document.
    pub elements: usize,
    /// Things the parser ignored (unknown extension elements...), expressions that do not
    /// parse, and `<Code>` constructs outside the supported subset.
    pub warnings: Vec<crate::error::Warning>,
}

/// Why an upload is refused. The `Display` text is a phrase that completes
/// "'x.rdl' is not a valid report definition (RDL): ..." and names the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The file is larger than [`Limits::max_bytes`].
    #[error(
        "it is {size} bytes, more than the {max} bytes accepted; remove embedded images or data, or ask an administrator to raise the limit"
    )]
    TooLarge {
        /// The file's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The file is not UTF-8 text.
    #[error(
        "it is not UTF-8 text ({at}); save the file as UTF-8 (Report Builder and Visual Studio do by default)"
    )]
    NotUtf8 {
        /// Where the first invalid byte is.
        at: Location,
    },
    /// A bound of [`Limits`] was exceeded.
    #[error(
        "{at}, at {path}: it has {what} (more than {limit}); real report definitions stay far below that, so check that the file is the report you meant"
    )]
    Limit {
        /// What was exceeded, e.g. "more than 64 attributes on one element".
        what: String,
        /// The limit.
        limit: usize,
        /// Where it was exceeded.
        at: Location,
        /// The element path there.
        path: String,
    },
    /// A `<!DOCTYPE ...>` declaration.
    #[error(
        "it contains a DOCTYPE declaration ({at}); RDL needs none, and reportd refuses DTDs and entity definitions (they can expand without bound or read files): remove the <!DOCTYPE ...> part"
    )]
    Doctype {
        /// Where the declaration starts.
        at: Location,
    },
    /// Not well-formed XML (including undefined entity references).
    #[error("{at}: it is not well-formed XML: {detail}")]
    NotXml {
        /// Where the XML parser stopped.
        at: Location,
        /// What the XML parser found, and the fix when it is clear.
        detail: String,
    },
    /// The root element is not `Report`.
    #[error(
        "its root element is <{found}>, not <Report>; is it a report definition (.rdl) at all?"
    )]
    NotReport {
        /// The root's local name.
        found: String,
    },
    /// The root is `Report` but not in an RDL namespace.
    #[error(
        "its root <Report> is in the namespace '{namespace}', which is not a report definition namespace; use xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition\" (or the 2005/01, 2008/01, 2010/01 one the file was written for)"
    )]
    UnknownNamespace {
        /// The root's namespace URI ("" when none).
        namespace: String,
    },
    /// Well-formed RDL that the report parser refuses.
    #[error("{0}")]
    Invalid(#[from] ParseError),
}

/// Checks an upload with [`Limits::default`].
pub fn check_upload(bytes: &[u8]) -> Result<CheckSummary, CheckError> {
    check_upload_with(bytes, &Limits::default())
}

/// Checks an upload against `limits`: bounded and linear in `bytes.len()`.
pub fn check_upload_with(bytes: &[u8], limits: &Limits) -> Result<CheckSummary, CheckError> {
    let (text, elements) = text_of(bytes, limits)?;
    let doc = xml_document(text, limits)?;
    let schema = root_schema(&doc)?;
    let (report, mut warnings) = crate::parse::check_document(&doc, text)?;
    // Expressions that do not parse do not refuse the upload (the expression language is a
    // subset of VB, and SSRS reports may use more): they are reported, and render as #Error.
    let compiled = crate::compile::compile(&report);
    warnings.extend(compiled.errors.iter().map(|e| crate::error::Warning {
        at: e.at,
        path: format!("{}/{}", e.owner, e.property),
        message: e.to_string(),
    }));
    warnings.extend(compiled.warnings);
    Ok(CheckSummary {
        schema,
        elements,
        warnings,
    })
}

/// Size and UTF-8 checks, then the bounding pre-scan: the text the XML parser may see, and
/// its element count.
pub(crate) fn text_of<'a>(
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<(&'a str, usize), CheckError> {
    if bytes.len() > limits.max_bytes {
        return Err(CheckError::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return Err(CheckError::NotUtf8 {
                at: Positions::new(bytes).at(e.valid_up_to()),
            });
        }
    };
    let elements = prescan(text.as_bytes(), limits)?;
    Ok((text, elements))
}

/// roxmltree with DTDs refused and a node backstop; errors mapped to located [`CheckError`]s.
pub(crate) fn xml_document<'a>(
    text: &'a str,
    limits: &Limits,
) -> Result<roxmltree::Document<'a>, CheckError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        // Elements plus text, comments, PIs between them: at most 2 per element + 2.
        nodes_limit: u32::try_from(limits.max_elements.saturating_mul(4).saturating_add(16))
            .unwrap_or(u32::MAX),
        entity_resolver: None,
    };
    roxmltree::Document::parse_with_options(text, opts).map_err(|e| xml_error(text, &e))
}

fn xml_error(text: &str, e: &roxmltree::Error) -> CheckError {
    use roxmltree::Error as E;
    let pos = e.pos();
    let at = Location::new(pos.row, pos.col);
    let detail = match e {
        E::DtdDetected => {
            let at = text
                .find("<!DOCTYPE")
                .map(|o| Positions::new(text.as_bytes()).at(o))
                .unwrap_or(at);
            return CheckError::Doctype { at };
        }
        E::NoRootNode => {
            return CheckError::NotXml {
                at,
                detail: "it is empty or has no root element; an RDL file has one <Report> element"
                    .into(),
            };
        }
        E::UnclosedRootNode | E::UnexpectedEndOfStream => {
            "it ends before all elements are closed (the file may be truncated); upload the complete file".to_owned()
        }
        E::UnknownEntityReference(name, _) => format!(
            "it uses the entity reference '&{name};', which is not one of XML's five predefined entities (&amp; &lt; &gt; &quot; &apos;); write the character itself or a character reference such as &#233;"
        ),
        E::UnexpectedCloseTag(expected, actual, _) => format!(
            "the end tag </{actual}> does not match the open element <{expected}>; close <{expected}> first"
        ),
        E::DuplicatedAttribute(name, _) => {
            format!("the attribute '{name}' appears twice on one element (malformed attribute); keep one")
        }
        E::UnknownNamespace(prefix, _) => format!(
            "the prefix '{prefix}:' is used but never declared; add xmlns:{prefix}=\"...\" or remove the prefix"
        ),
        E::UnknownToken(_) if is_trailing(text, pos) => {
            "it has text or markup outside the root element (more than one root?); an RDL file has exactly one <Report> element".to_owned()
        }
        E::NodesLimitReached => "it has too many XML nodes".to_owned(),
        other => strip_pos(&other.to_string()),
    };
    CheckError::NotXml { at, detail }
}

/// True when `pos` is after the root element's end (roxmltree reports trailing content as an
/// unknown token).
fn is_trailing(text: &str, pos: roxmltree::TextPos) -> bool {
    let row = pos.row.saturating_sub(1) as usize;
    let mut offset = 0usize;
    for (n, line) in text.split('\n').enumerate() {
        if n == row {
            offset += line
                .char_indices()
                .nth(pos.col.saturating_sub(1) as usize)
                .map_or(line.len(), |(i, _)| i);
            break;
        }
        offset += line.len() + 1;
    }
    text.get(..offset.min(text.len()))
        .is_some_and(|head| head.trim_end().ends_with('>'))
}

/// roxmltree's messages end in " at 3:7"; the location is reported separately.
fn strip_pos(msg: &str) -> String {
    match msg.rfind(" at ") {
        Some(i) if msg[i + 4..].chars().all(|c| c.is_ascii_digit() || c == ':') => {
            msg[..i].to_owned()
        }
        _ => msg.to_owned(),
    }
}

fn root_schema(doc: &roxmltree::Document<'_>) -> Result<Schema, CheckError> {
    let root = doc.root_element();
    if root.tag_name().name() != "Report" {
        return Err(CheckError::NotReport {
            found: root.tag_name().name().to_owned(),
        });
    }
    let ns = root.tag_name().namespace().unwrap_or("");
    Schema::from_namespace(ns).ok_or_else(|| CheckError::UnknownNamespace {
        namespace: ns.to_owned(),
    })
}

/// One pass over the markup: counts elements, attributes per element, namespace declarations
/// and depth, refuses a DOCTYPE. Tolerant of malformed input (the XML parser that follows
/// refuses it with a located message); its only job is to bound what that parser sees.
/// Returns the element count.
fn prescan(b: &[u8], limits: &Limits) -> Result<usize, CheckError> {
    let mut i = 0usize;
    let mut elements = 0usize;
    let mut ns_decls = 0usize;
    // Open elements' name ranges, for the path in a limit error; at most max_depth + 1 long.
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let limit = |what: String, limit: usize, at: usize, stack: &[(usize, usize)]| {
        let path = stack
            .iter()
            .map(|&(s, e)| String::from_utf8_lossy(&b[s..e]).into_owned())
            .collect::<Vec<_>>()
            .join("/");
        CheckError::Limit {
            what,
            limit,
            at: Positions::new(b).at(at),
            path: if path.is_empty() { "/".into() } else { path },
        }
    };
    while let Some(off) = find_byte(b, i, b'<') {
        let start = off;
        let rest = &b[off..];
        if rest.starts_with(b"<?") {
            i = find_seq(b, off + 2, b"?>").map_or(b.len(), |e| e + 2);
        } else if rest.starts_with(b"<!--") {
            i = find_seq(b, off + 4, b"-->").map_or(b.len(), |e| e + 3);
        } else if rest.starts_with(b"<![CDATA[") {
            i = find_seq(b, off + 9, b"]]>").map_or(b.len(), |e| e + 3);
        } else if rest.starts_with(b"<!") {
            if rest.len() >= 9 && rest[2..9].eq_ignore_ascii_case(b"DOCTYPE") {
                return Err(CheckError::Doctype {
                    at: Positions::new(b).at(start),
                });
            }
            i = find_byte(b, off + 2, b'>').map_or(b.len(), |e| e + 1);
        } else if rest.starts_with(b"</") {
            stack.pop();
            i = find_byte(b, off + 2, b'>').map_or(b.len(), |e| e + 1);
        } else {
            elements += 1;
            if elements > limits.max_elements {
                return Err(limit(
                    format!("more than {} elements", limits.max_elements),
                    limits.max_elements,
                    start,
                    &stack,
                ));
            }
            // Element name.
            let name_start = off + 1;
            let mut j = name_start;
            while j < b.len() && !is_space(b[j]) && b[j] != b'>' && b[j] != b'/' {
                j += 1;
            }
            let name = (name_start, j);
            let mut attrs = 0usize;
            let mut empty = false;
            // Attributes: `name = "value"` / `'value'`, until `>` or `/>` outside quotes.
            loop {
                while j < b.len() && is_space(b[j]) {
                    j += 1;
                }
                if j >= b.len() {
                    break;
                }
                match b[j] {
                    b'>' => {
                        j += 1;
                        break;
                    }
                    b'/' => {
                        empty = true;
                        j += 1;
                        if j < b.len() && b[j] == b'>' {
                            j += 1;
                        }
                        break;
                    }
                    b'<' => break, // malformed: leave it to the XML parser
                    _ => {}
                }
                let attr_start = j;
                while j < b.len() && b[j] != b'=' && b[j] != b'>' && b[j] != b'<' {
                    j += 1;
                }
                if j >= b.len() || b[j] != b'=' {
                    continue; // malformed; the loop resumes at `>`/`<`
                }
                let attr_name = trim_ascii(&b[attr_start..j]);
                attrs += 1;
                if attrs > limits.max_attributes {
                    stack.push(name);
                    return Err(limit(
                        format!(
                            "more than {} attributes on one element",
                            limits.max_attributes
                        ),
                        limits.max_attributes,
                        attr_start,
                        &stack,
                    ));
                }
                if attr_name == b"xmlns" || attr_name.starts_with(b"xmlns:") {
                    ns_decls += 1;
                    if ns_decls > limits.max_namespace_declarations {
                        stack.push(name);
                        return Err(limit(
                            format!(
                                "more than {} namespace declarations",
                                limits.max_namespace_declarations
                            ),
                            limits.max_namespace_declarations,
                            attr_start,
                            &stack,
                        ));
                    }
                }
                j += 1;
                while j < b.len() && is_space(b[j]) {
                    j += 1;
                }
                if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                    let q = b[j];
                    j = find_byte(b, j + 1, q).map_or(b.len(), |e| e + 1);
                }
            }
            if !empty {
                stack.push(name);
                if stack.len() > limits.max_depth {
                    return Err(limit(
                        format!("elements nested more than {} levels deep", limits.max_depth),
                        limits.max_depth,
                        start,
                        &stack[..limits.max_depth.min(16)],
                    ));
                }
            }
            i = j;
        }
    }
    Ok(elements)
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim_ascii(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| !is_space(c)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&c| !is_space(c))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

fn find_byte(b: &[u8], from: usize, c: u8) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|&x| x == c)
        .map(|p| p + from)
}

/// First occurrence of `pat` at or after `from`; linear (the patterns are 2-3 bytes and
/// start with a byte that does not repeat inside them).
fn find_seq(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    let mut i = from;
    while let Some(p) = find_byte(b, i, pat[0]) {
        if b[p..].starts_with(pat) {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition";

    fn minimal(body: &str) -> String {
        format!(
            "<Report xmlns=\"{NS}\"><ReportSections><ReportSection><Body><Height>1in</Height>{body}</Body><Width>1in</Width><Page/></ReportSection></ReportSections></Report>"
        )
    }

    #[test]
    fn accepts_a_minimal_report_with_bom_comment_and_entities() {
        let rdl = format!(
            "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- c -->\n{}\n",
            minimal("<Style><Color>Red</Color></Style><!-- x &amp; &lt; &#65; -->")
        );
        let s = check_upload(rdl.as_bytes()).unwrap();
        assert_eq!(s.schema, Schema::V2016);
        assert_eq!(s.elements, 9);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        // An expression that does not parse is a located warning, not a refusal.
        let rdl = minimal("<Style><Color>=IIf(</Color></Style>");
        let s = check_upload(rdl.as_bytes()).unwrap();
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert_eq!(s.warnings[0].path, "Report/Color");
        assert!(
            s.warnings[0].message.contains("does not parse"),
            "{}",
            s.warnings[0]
        );
    }

    #[test]
    fn accepts_every_rdl_namespace() {
        for (year, schema) in [
            ("2003/10", Schema::V2003),
            ("2005/01", Schema::V2005),
            ("2008/01", Schema::V2008),
            ("2010/01", Schema::V2010),
            ("2016/01", Schema::V2016),
        ] {
            let rdl = format!(
                "<Report xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/{year}/reportdefinition\"><Body><Height>1in</Height></Body><Width>1in</Width></Report>"
            );
            let s = check_upload(rdl.as_bytes()).unwrap_or_else(|e| panic!("{year}: {e}"));
            assert_eq!(s.schema, schema);
        }
    }

    #[test]
    fn refuses_with_reasons() {
        let cases: [(&str, &str); 12] = [
            ("", "no root element"),
            ("<Report><Body></Report>", "does not match"),
            ("<Report>", "ends before"),
            ("<Html></Html>", "<Html>, not <Report>"),
            (
                "<!DOCTYPE Report [<!ENTITY a \"b\">]><Report>&a;</Report>",
                "DOCTYPE",
            ),
            ("<Report>&xxe;</Report>", "entity reference"),
            ("<Report/><Report/>", "outside the root"),
            ("<Report/>trailing", "outside the root"),
            ("<Report a=\"1\" a=\"2\"/>", "appears twice"),
            ("<Report/>", "not a report definition namespace"),
            ("<rd:Report xmlns:rd=\"urn:x\"/>", "'urn:x'"),
            ("<Report>\n  <p:X/></Report>", "line 2, column 4"),
        ];
        for (input, want) in cases {
            let why = check_upload(input.as_bytes()).unwrap_err().to_string();
            assert!(why.contains(want), "{input}: {why}");
        }
        let bad = [b'<', b'R', 0xff, b'>'];
        assert!(matches!(
            check_upload(&bad),
            Err(CheckError::NotUtf8 { at }) if at == Location::new(1, 3)
        ));
        let big = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            check_upload_with(minimal("").as_bytes(), &big),
            Err(CheckError::TooLarge { .. })
        ));
    }

    #[test]
    fn bounds_attributes_elements_depth_and_namespaces() {
        // 100,000 attributes on one element: refused by the pre-scan, in one pass.
        let mut s = String::from("<Report xmlns=\"x\"><Body");
        for i in 0..100_000 {
            s.push_str(&format!(" a{i}=\"v\""));
        }
        s.push_str("/></Report>");
        match check_upload(s.as_bytes()) {
            Err(CheckError::Limit { what, at, path, .. }) => {
                assert!(what.contains("64 attributes"), "{what}");
                assert_eq!(path, "Report/Body");
                assert_eq!(at.line, 1);
            }
            other => panic!("{other:?}"),
        }
        let deep = format!("{}{}", "<a>".repeat(300), "</a>".repeat(300));
        assert!(
            check_upload(deep.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("nested more than 256")
        );
        let many = format!("<Report>{}</Report>", "<x/>".repeat(200_001));
        assert!(
            check_upload(many.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("more than 200000 elements")
        );
        let ns = format!("<Report>{}</Report>", "<x xmlns:p=\"urn:p\"/>".repeat(1025));
        assert!(
            check_upload(ns.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("namespace declarations")
        );
        // Quotes hide markup characters from the attribute counter.
        let quoted = minimal("<Style a=\"x > y / z\" b='&lt;'/>");
        check_upload(quoted.as_bytes()).unwrap();
    }

    #[test]
    fn shared_sample_reports_are_accepted() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/rdl");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{} missing under CI",
                dir.display()
            );
            println!("skipped: {} not present", dir.display());
            return;
        };
        let mut n = 0;
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "rdl") {
                let bytes = std::fs::read(e.path()).unwrap();
                let s = check_upload(&bytes)
                    .unwrap_or_else(|why| panic!("{}: {why}", e.path().display()));
                assert_eq!(s.schema, Schema::V2016);
                n += 1;
            }
        }
        assert_eq!(
            n,
            3,
            "expected Invoice, Labels and Transcript in {}",
            dir.display()
        );
    }
}
