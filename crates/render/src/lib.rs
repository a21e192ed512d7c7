//! Renderers (CSV, XML, JSON, HTML5) over the engine's instance tree.
//!
//! Owns: each format's rules (design note §2.3-2.6), device-information parsing per format
//! (`rc:` settings, errors naming the bad setting, all checked before any output), and
//! escaping (nothing from a report reaches HTML/XML unescaped; URLs are checked).
//! Must not: evaluate expressions (the engine did), or open files and sockets: every
//! renderer takes an [`engine::Instance`] and writes to a caller's [`std::io::Write`].
//!
//! Data renderers ([`csv`], [`xml`], [`json`]) walk the instance tree through [`data`] and
//! never paginate; [`html`] renders the soft pages of [`engine::page`].

use std::collections::HashMap;

pub mod chartsvg;
pub mod csv;
pub mod data;
pub mod docx;
pub mod html;
pub mod image;
pub mod json;
pub mod pdf;
pub mod svgpage;
pub mod xlsx;
pub mod xml;

/// Why a render failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A device-information (`rc:`) setting is invalid; nothing was written.
    #[error("device information setting {setting}: {problem}")]
    DeviceInfo {
        /// The setting's name, as SSRS spells it (`FieldDelimiter`).
        setting: &'static str,
        /// What is wrong and what is accepted.
        problem: String,
    },
    /// Two items would write the same element name in one scope (XML, JSON).
    #[error(
        "the items {first} and {second} both write the element name {name:?} in one scope; \
         give one of them another DataElementName"
    )]
    DuplicateElementName {
        /// The element name.
        name: String,
        /// The first item.
        first: String,
        /// The second item.
        second: String,
    },
    /// `rc:Section` names a page the report does not have.
    #[error("rc:Section={requested}: the report has {pages} page(s); use 1..={pages} or 0 for all")]
    NoSuchPage {
        /// The page asked for.
        requested: u32,
        /// Pages there are.
        pages: u32,
    },
    /// The office writer refused the content (XLSX, DOCX): a sheet past Excel's limits, a
    /// value it cannot hold; the message names what and the fix.
    #[error("writing the {format} file: {message}")]
    Office {
        /// `XLSX` or `DOCX`.
        format: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Writing the output failed (the client went away).
    #[error("writing the rendered output: {0}")]
    Io(#[from] std::io::Error),
    /// Binding a streamed row failed (the render was cancelled).
    #[error("{0}")]
    Engine(#[from] engine::EngineError),
}

/// Device information: the `rc:` settings of a request, looked up case-insensitively with or
/// without the `rc:` prefix.
#[derive(Debug, Clone, Default)]
pub struct DeviceInfo {
    map: HashMap<String, String>,
}

impl DeviceInfo {
    /// From the request's `rc:` parameters (keys with or without `rc:`).
    pub fn new(settings: &HashMap<String, String>) -> DeviceInfo {
        let map = settings
            .iter()
            .map(|(k, v)| {
                let k = k.to_ascii_lowercase();
                let k = k.strip_prefix("rc:").map(str::to_owned).unwrap_or(k);
                (k, v.clone())
            })
            .collect();
        DeviceInfo { map }
    }

    /// The raw value of a setting.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// A boolean setting (`true`/`false`, any case).
    pub fn bool(&self, name: &'static str, default: bool) -> Result<bool, RenderError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(RenderError::DeviceInfo {
                setting: name,
                problem: format!("{v:?} is not a boolean; use true or false"),
            }),
        }
    }

    /// A non-negative integer setting.
    pub fn uint(&self, name: &'static str, default: u32) -> Result<u32, RenderError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| RenderError::DeviceInfo {
                setting: name,
                problem: format!("{v:?} is not a whole number ≥ 0"),
            }),
        }
    }
}

/// True when `url` may be written as a link: `http:`, `https:`, `mailto:` or a relative URL
/// (no scheme, not protocol-relative `//`). `javascript:`, `data:` and everything else are
/// refused.
pub fn safe_url(url: &str) -> bool {
    let u = url.trim();
    if u.is_empty() || u.starts_with("//") || u.starts_with("\\\\") {
        return false;
    }
    if u.chars().any(|c| c.is_control()) {
        return false;
    }
    match u.find(':') {
        None => true,
        Some(i) => {
            let scheme = &u[..i];
            if scheme.contains(['/', '?', '#']) {
                return true; // the colon is in the path or query: relative
            }
            let s = scheme.to_ascii_lowercase();
            s == "http" || s == "https" || s == "mailto"
        }
    }
}

/// The invariant-culture text of a value (CSV compliant mode): decimals as stored, doubles
/// shortest round-trip, DateTime `MM/dd/yyyy HH:mm:ss`, booleans `True`/`False`.
pub fn invariant_text(v: &rdl::Value) -> String {
    use rdl::Value;
    match v {
        Value::Null | Value::Bytes(_) => String::new(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => float_text(*x),
        Value::Decimal(d) => d.to_string(),
        Value::Str(s) => s.to_string(),
        Value::DateTime(t) => format!(
            "{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
            u8::from(t.month()),
            t.day(),
            t.year(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Value::Array(a) => a.iter().map(invariant_text).collect::<Vec<_>>().join(","),
    }
}

/// A double the way .NET's round-trip format writes it (`1E+20`, `Infinity`, `NaN`).
pub(crate) fn float_text(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{x}")
    }
}

/// XSD lexical form (`XmlConvert`): `2009-01-05T00:00:00`, invariant numbers, `true`.
pub fn xsd_text(v: &rdl::Value) -> String {
    use rdl::Value;
    match v {
        Value::Bool(b) => if *b { "true" } else { "false" }.to_owned(),
        Value::Float(x) => {
            if x.is_nan() {
                "NaN".into()
            } else if x.is_infinite() {
                if *x > 0.0 {
                    "INF".into()
                } else {
                    "-INF".into()
                }
            } else {
                format!("{x}")
            }
        }
        Value::DateTime(t) => {
            let mut s = String::with_capacity(29);
            xml::xsd_datetime_into(t, &mut s);
            s
        }
        other => invariant_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(safe_url("https://example.com/a?b=c"));
        assert!(safe_url("mailto:a@b.c"));
        assert!(safe_url("report?x=1:2"));
        assert!(safe_url("/Reports/report/x"));
        assert!(!safe_url("javascript:alert(1)"));
        assert!(!safe_url(" JavaScript:alert(1)"));
        assert!(!safe_url("data:text/html,x"));
        assert!(!safe_url("//evil.example/"));
        assert!(!safe_url("java\tscript:x"));
    }

    #[test]
    fn device_info_names_the_setting() {
        let mut m = HashMap::new();
        m.insert("rc:NoHeader".to_owned(), "yes".to_owned());
        let d = DeviceInfo::new(&m);
        let e = d.bool("NoHeader", false).unwrap_err().to_string();
        assert!(e.contains("NoHeader") && e.contains("\"yes\""), "{e}");
    }
}
