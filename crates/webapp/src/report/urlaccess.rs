//! URL access to a report: the `rs:` (server) and `rc:` (device information) settings and
//! the report parameters of a query string, as SSRS reads them.
//!
//! `?/Path/Report&rs:Format=CSV&rc:NoHeader=true&Year=2024&Region=East&Region=West&Ship:isnull=true`:
//! the first component without `=` is the item path (handled by the Web Service); `rs:` and
//! `rc:` names are case-insensitive; report parameter names are case-sensitive, a repeated
//! name is a multi-value parameter, `Name:isnull=true` is NULL. Pure: text in, values out.

use std::collections::HashMap;

use crate::html::decode_component;

/// Output formats this server renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `HTML5` (the default; `HTML4.0` is accepted as the same).
    Html5,
    /// `CSV`.
    Csv,
    /// `XML`.
    Xml,
    /// `JSON` (reportd's own).
    Json,
    /// `PDF` (hard pages, embedded fonts).
    Pdf,
    /// `EXCELOPENXML` (`.xlsx`: a worksheet per logical page).
    Xlsx,
    /// `WORDOPENXML` (`.docx`).
    Docx,
    /// `IMAGE` (PNG, or multi-page TIFF with `rc:OutputFormat=TIFF`).
    Image,
}

/// The `rs:Format` names this server renders, for error messages and export menus.
pub(crate) const SUPPORTED_FORMATS: &[&str] = &[
    "HTML5",
    "PDF",
    "EXCELOPENXML",
    "WORDOPENXML",
    "IMAGE",
    "CSV",
    "XML",
    "JSON",
];

impl Format {
    /// Parses an `rs:Format` value (any case).
    pub(crate) fn parse(s: &str) -> Result<Format, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "" | "HTML5" | "HTML4.0" | "HTML" => Ok(Format::Html5),
            "CSV" => Ok(Format::Csv),
            "XML" => Ok(Format::Xml),
            "JSON" => Ok(Format::Json),
            "PDF" => Ok(Format::Pdf),
            "EXCELOPENXML" => Ok(Format::Xlsx),
            "WORDOPENXML" => Ok(Format::Docx),
            "IMAGE" => Ok(Format::Image),
            other => Err(format!(
                "rsRenderingExtensionNotFound: the rendering format rs:Format={other} is not \
                 supported by this report server; use one of {}",
                SUPPORTED_FORMATS.join(", ")
            )),
        }
    }

    /// The name SSRS uses (`Globals!RenderFormat.Name`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Html5 => "HTML5",
            Format::Csv => "CSV",
            Format::Xml => "XML",
            Format::Json => "JSON",
            Format::Pdf => "PDF",
            Format::Xlsx => "EXCELOPENXML",
            Format::Docx => "WORDOPENXML",
            Format::Image => "IMAGE",
        }
    }

    /// The file extension of an export.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Format::Html5 => "html",
            Format::Csv => "csv",
            Format::Xml => "xml",
            Format::Json => "json",
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
            Format::Docx => "docx",
            Format::Image => "png",
        }
    }
}

/// The rendering part of a URL-access query.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RenderRequest {
    /// `rs:Format` as given (`None`: HTML5).
    pub format: Option<String>,
    /// `rs:ParameterLanguage`.
    pub parameter_language: Option<String>,
    /// Other `rs:` settings (lower-case names without the prefix).
    pub server: HashMap<String, String>,
    /// `rc:` settings (device information), names as given without the prefix.
    pub device: HashMap<String, String>,
    /// Report parameters in the order first seen: name → values (`None` = NULL).
    pub params: Vec<(String, Vec<Option<String>>)>,
    /// `dsu:`/`dsp:` credentials for data sources that prompt.
    pub credentials: super::datasources::Credentials,
}

impl RenderRequest {
    /// The parameters as the engine takes them.
    pub(crate) fn param_map(&self) -> HashMap<String, Vec<Option<String>>> {
        self.params.iter().cloned().collect()
    }

    /// The parsed format.
    pub(crate) fn format(&self) -> Result<Format, String> {
        Format::parse(self.format.as_deref().unwrap_or(""))
    }

    /// A canonical text of the parameter values (the execution cache's key part).
    pub(crate) fn param_key(&self) -> String {
        let mut sorted: Vec<&(String, Vec<Option<String>>)> = self.params.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::new();
        for (name, values) in sorted {
            out.push_str(&name.len().to_string());
            out.push(':');
            out.push_str(name);
            for v in values {
                match v {
                    None => out.push_str("|N"),
                    Some(s) => {
                        out.push_str("|V");
                        out.push_str(&s.len().to_string());
                        out.push(':');
                        out.push_str(s);
                    }
                }
            }
            out.push(';');
        }
        out
    }
}

fn push_param(params: &mut Vec<(String, Vec<Option<String>>)>, name: &str, v: Option<String>) {
    match params.iter_mut().find(|(n, _)| n == name) {
        Some((_, vs)) => vs.push(v),
        None => params.push((name.to_owned(), vec![v])),
    }
}

/// Parses the query string (everything after `?`). The item path (the first component
/// without `=`) and `rs:Command` are skipped: the Web Service reads them.
pub(crate) fn parse(query: &str) -> Result<RenderRequest, String> {
    parse_with(query, false)
}

/// [`parse`]; with `null_wins` (the viewer's form, whose NULL checkbox is sent along with the
/// empty field) `Name:isnull=true` replaces the values instead of being an error.
pub(crate) fn parse_with(query: &str, null_wins: bool) -> Result<RenderRequest, String> {
    let mut r = RenderRequest::default();
    // NULL markers are applied after the values so that `P:isnull=true&P=x` is an error
    // whatever the order.
    let mut nulls: Vec<String> = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let key = decode_component(k)
            .ok_or_else(|| "a parameter name in the URL is not valid UTF-8".to_owned())?;
        let value = decode_component(v)
            .ok_or_else(|| format!("the value of {key} in the URL is not valid UTF-8"))?;
        let lower = key.to_ascii_lowercase();
        if let Some(name) = lower.strip_prefix("rs:") {
            match name {
                "command" => {}
                "format" => r.format = Some(value),
                "parameterlanguage" => r.parameter_language = Some(value),
                _ => {
                    r.server.insert(name.to_owned(), value);
                }
            }
        } else if lower.starts_with("rc:") {
            r.device.insert(key[3..].to_owned(), value);
        } else if let Some(name) = lower
            .strip_prefix("dsu:")
            .or_else(|| lower.strip_prefix("dsp:"))
            .map(|_| &key[4..])
        {
            if name.is_empty() {
                return Err(format!(
                    "{}: name the data source, as in dsu:DataSourceName=user",
                    &key[..3]
                ));
            }
            r.credentials.set(name, value, lower.starts_with("dsp:"));
        } else if lower.starts_with("rv:") || lower.starts_with("rp:") || key.starts_with('/') {
            // SharePoint-mode viewer settings are not taken; `/Path=` is the item path as a
            // form sends it (the Web Service reads it).
            continue;
        } else if let Some(name) = key
            .strip_suffix(":isnull")
            .or_else(|| key.strip_suffix(":IsNull"))
            .or_else(|| key.strip_suffix(":ISNULL"))
        {
            if value.eq_ignore_ascii_case("true") {
                nulls.push(name.to_owned());
            } else if !value.eq_ignore_ascii_case("false") {
                return Err(format!(
                    "{key}={value}: use {name}:isnull=true to pass NULL for the parameter {name}"
                ));
            }
        } else {
            if key.is_empty() {
                return Err("a report parameter in the URL has no name".into());
            }
            push_param(&mut r.params, &key, Some(value));
        }
    }
    for name in nulls {
        if null_wins {
            r.params.retain(|(n, _)| *n != name);
        }
        if r.params.iter().any(|(n, _)| *n == name) {
            return Err(format!(
                "the parameter {name} is given both a value and {name}:isnull=true; give one of them"
            ));
        }
        push_param(&mut r.params, &name, None);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_parameters() {
        let r = parse(
            "/Sales/Q&rs:Command=Render&RS:Format=csv&rc:NoHeader=true&Year=2024&Region=East&Region=West+Coast&Ship:isnull=true&rs:ParameterLanguage=de-DE",
        )
        .unwrap();
        assert_eq!(r.format(), Ok(Format::Csv));
        assert_eq!(r.parameter_language.as_deref(), Some("de-DE"));
        assert_eq!(r.device.get("NoHeader").map(String::as_str), Some("true"));
        assert_eq!(
            r.params,
            vec![
                ("Year".into(), vec![Some("2024".into())]),
                (
                    "Region".into(),
                    vec![Some("East".into()), Some("West Coast".into())]
                ),
                ("Ship".into(), vec![None]),
            ]
        );
    }

    #[test]
    fn names_are_case_sensitive_and_keys_canonical() {
        let a = parse("/R&b=2&a=1&A=3").unwrap();
        assert_eq!(a.params.len(), 3);
        let b = parse("/R&A=3&a=1&b=2").unwrap();
        assert_eq!(a.param_key(), b.param_key());
        let c = parse("/R&a=1&b=2").unwrap();
        assert_ne!(a.param_key(), c.param_key());
        // a value containing the separators cannot collide with two values
        let d = parse("/R&a=1%7CV1:2").unwrap();
        let e = parse("/R&a=1&a=2").unwrap();
        assert_ne!(d.param_key(), e.param_key());
    }

    #[test]
    fn unsupported_format_names_the_supported_ones() {
        for f in ["MHTML", "EXCEL", "WORD", "DOCX"] {
            let e = Format::parse(f).unwrap_err();
            assert!(
                e.contains(f)
                    && e.contains("HTML5, PDF, EXCELOPENXML, WORDOPENXML, IMAGE, CSV, XML, JSON"),
                "{e}"
            );
        }
        assert_eq!(Format::parse("pdf"), Ok(Format::Pdf));
        assert_eq!(Format::parse("ExcelOpenXml"), Ok(Format::Xlsx));
        assert_eq!(Format::parse("WORDOPENXML"), Ok(Format::Docx));
        assert_eq!(Format::parse(""), Ok(Format::Html5));
        assert_eq!(Format::parse("html4.0"), Ok(Format::Html5));
    }

    #[test]
    fn data_source_credentials_are_not_parameters() {
        let r = parse("/R&dsu:Main=rep&dsp:Main=s3cret&dsu:Other=x&%2FR=&P=1").unwrap();
        assert_eq!(r.params, vec![("P".into(), vec![Some("1".into())])]);
        assert!(!r.credentials.is_empty());
        let shown = format!("{:?}", r.credentials);
        assert!(
            shown.contains("main") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(
            parse("/R&dsu:=x")
                .unwrap_err()
                .contains("name the data source")
        );
    }

    #[test]
    fn null_and_value_together_is_an_error() {
        assert!(parse("/R&P:isnull=true&P=1").unwrap_err().contains("P"));
        assert!(parse("/R&P:isnull=maybe").is_err());
        assert_eq!(parse("/R&P:isnull=false").unwrap().params, vec![]);
    }
}
