//! What the REST API says about one report's definition: `Reports(key)/ParameterDefinitions`
//! (the parameters as the definition declares them) and `Reports(key)/DataSources` (GET;
//! PUT changes a shared reference's path or an embedded source's type and connection
//! string).
//!
//! Definitions are parsed with [`rdl::parse_report`] off the async threads. A PUT edits the
//! stored definition where the XML reader ([`quick_xml`]) locates the elements to change
//! (`DataSourceReference`, `DataProvider`, `ConnectString` of the named `DataSource`), and
//! stores the result through the upload path ([`super::items::store`]), which checks it
//! again; everything else of the file stays byte for byte. Must not run queries or render.

use axum::extract::Request;
use axum::response::Response;
use catalog::{ItemPath, ItemType, Permission};
use quick_xml::events::Event;
use rdl::model::{
    DataSourceKind, DefaultValue, ParameterType, ReportParameter, UsedInQuery, ValidValues,
};
use rdl::{Expression, Report};
use serde_json::{Map, Value, json};

use super::items::{Call, json_ok, read_json_value, resolve, store};
use crate::Error;

/// Most data sources one PUT names.
const MAX_DATA_SOURCES: usize = 256;

/// The report the key names (Read, or Write for a change), its bytes and its parsed model.
async fn load(
    c: &Call<'_>,
    need: Permission,
) -> Result<(catalog::CatalogItem, Vec<u8>, Report), Error> {
    let item = resolve(c, need).await?;
    if item.item_type != ItemType::Report {
        return Err(Error::BadRequest(format!(
            "'{}' is a {}, not a report",
            item.path, item.item_type
        )));
    }
    let bytes = c.session.catalog.get_content(&item.path).await?;
    let name = item.name.clone();
    let copy = bytes.clone();
    let report = tokio::task::spawn_blocking(move || rdl::parse_report(&name, &copy))
        .await
        .map_err(|e| Error::Internal(format!("the definition parser stopped: {e}")))?
        .map(|(r, _warnings)| r)
        .map_err(|e| {
            Error::BadRequest(format!(
                "the stored definition of '{}' cannot be read: {e}; upload a corrected definition",
                item.path
            ))
        })?;
    Ok((item, bytes, report))
}

/// `Parameters!Name` references in an expression's source.
fn parameter_refs(src: &str, out: &mut Vec<String>) {
    let lower = src.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("parameters!") {
        let start = from + at + "parameters!".len();
        let end = src[start..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(src.len(), |n| start + n);
        let name = &src[start..end];
        if !name.is_empty() && !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
        from = end.max(start);
    }
}

fn expr_refs(e: &Expression, out: &mut Vec<String>) {
    if let Expression::Expr { src, .. } = e {
        parameter_refs(src, out);
    }
}

fn type_name(t: ParameterType) -> &'static str {
    match t {
        ParameterType::String => "String",
        ParameterType::Integer => "Integer",
        ParameterType::Float => "Float",
        ParameterType::Boolean => "Boolean",
        ParameterType::DateTime => "DateTime",
    }
}

fn parameter_json(report: &Report, p: &ReportParameter) -> Value {
    let mut deps = Vec::new();
    let mut defaults = Vec::new();
    let mut default_dynamic = false;
    let mut default_query = false;
    match &p.default_value {
        Some(DefaultValue::Values(vs)) => {
            for v in vs.iter().flatten() {
                match v.as_constant() {
                    Some(s) => defaults.push(json!(s)),
                    None => {
                        default_dynamic = true;
                        expr_refs(v, &mut deps);
                    }
                }
            }
        }
        Some(DefaultValue::DataSet(_)) => default_query = true,
        None => {}
    }
    let mut valid = Vec::new();
    let mut valid_query = false;
    match &p.valid_values {
        Some(ValidValues::Values(vs)) => {
            for v in vs {
                let value = v.value.as_ref().and_then(|e| e.as_constant());
                let label = v.label.as_ref().and_then(|e| e.as_constant()).or(value);
                if let Some(e) = &v.value {
                    expr_refs(e, &mut deps);
                }
                if let Some(e) = &v.label {
                    expr_refs(e, &mut deps);
                }
                if let Some(value) = value {
                    valid.push(json!({"Label": label.unwrap_or(value), "Value": value}));
                }
            }
        }
        Some(ValidValues::DataSet(_)) => valid_query = true,
        None => {}
    }
    deps.retain(|d| d != &p.name);
    let used_in_query = match p.used_in_query {
        UsedInQuery::True => true,
        UsedInQuery::False => false,
        UsedInQuery::Auto => report.data_sets.iter().any(|ds| {
            ds.query.parameters.iter().any(|q| {
                let mut refs = Vec::new();
                expr_refs(&q.value, &mut refs);
                refs.iter().any(|r| r == &p.name)
            })
        }),
    };
    let state = if !deps.is_empty() {
        "HasOutstandingDependencies"
    } else if default_dynamic || default_query || valid_query {
        "DynamicValuesUnavailable"
    } else if p.default_value.is_none() && !p.nullable {
        "MissingValidValue"
    } else {
        "HasValidValue"
    };
    let visibility = if p.is_internal() {
        "Internal"
    } else if p.hidden {
        "Hidden"
    } else {
        "Visible"
    };
    json!({
        "Name": p.name,
        "ParameterType": type_name(p.data_type),
        "ParameterVisibility": visibility,
        "ParameterState": state,
        "ValidValues": valid,
        "ValidValuesIsNull": p.valid_values.is_none(),
        "ValidValuesQueryBased": valid_query,
        "AllowBlank": p.allow_blank,
        "MultiValue": p.multi_value,
        "Nullable": p.nullable,
        "Prompt": p.prompt.clone().unwrap_or_default(),
        "PromptUser": p.prompt.is_some(),
        "QueryParameter": used_in_query,
        "DefaultValues": defaults,
        "DefaultValuesIsNull": p.default_value.is_none(),
        "DefaultValuesQueryBased": default_query,
        "Dependencies": deps,
    })
}

/// `GET Reports(key)/ParameterDefinitions`.
pub(super) async fn parameter_definitions(c: &Call<'_>) -> Result<Response, Error> {
    let (_item, _bytes, report) = load(c, Permission::Read).await?;
    let value: Vec<Value> = report
        .parameters
        .iter()
        .map(|p| parameter_json(&report, p))
        .collect();
    Ok(json_ok(json!({
        "@odata.context": format!("{}/$metadata#Collection(Model.ReportParameterDefinition)", c.api_base),
        "value": value,
    })))
}

/// The catalog path a `DataSourceReference` names (absolute, or relative to the folder).
fn reference_path(report: &ItemPath, reference: &str) -> Result<ItemPath, Error> {
    crate::report::datasources::reference_path(report, reference)
        .map_err(|e| Error::BadRequest(e.message))
}

fn credential_retrieval(cp: &rdl::model::ConnectionProperties) -> &'static str {
    if cp.integrated_security {
        "Integrated"
    } else if cp.prompt.is_some() {
        "Prompt"
    } else {
        "None"
    }
}

async fn data_sources_json(
    c: &Call<'_>,
    path: &ItemPath,
    report: &Report,
) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for ds in &report.data_sources {
        let v = match &ds.kind {
            DataSourceKind::Embedded(cp) => {
                let cs = match &cp.connect_string {
                    Expression::Constant(s) => s.clone(),
                    Expression::Expr { src, .. } => format!("={src}"),
                };
                json!({
                    "Name": ds.name,
                    "Type": "DataSource",
                    "IsReference": false,
                    "IsEnabled": true,
                    "DataSourceType": cp.data_provider,
                    "ConnectionString": cs,
                    "IsOriginalConnectionStringExpressionBased": cp.connect_string.is_expr(),
                    "IsConnectionStringOverridden": false,
                    "CredentialRetrieval": credential_retrieval(cp),
                })
            }
            DataSourceKind::Reference(r) => {
                let target = reference_path(path, r)?;
                let mut v = json!({
                    "Name": ds.name,
                    "Type": "DataSource",
                    "IsReference": true,
                    "Path": target.as_str(),
                });
                // The shared data source's id when it exists and the user may see it.
                if let Some(shared) = c.session.catalog.get_item(&target).await?
                    && c.session.can(&target, Permission::Read).await?
                {
                    v["Id"] = json!(shared.id);
                }
                v
            }
        };
        out.push(v);
    }
    Ok(out)
}

fn data_sources_response(c: &Call<'_>, value: Vec<Value>) -> Response {
    json_ok(json!({
        "@odata.context": format!("{}/$metadata#DataSources", c.api_base),
        "@odata.count": value.len(),
        "value": value,
    }))
}

/// `GET Reports(key)/DataSources`.
pub(super) async fn data_sources(c: &Call<'_>) -> Result<Response, Error> {
    let (item, _bytes, report) = load(c, Permission::Read).await?;
    let value = data_sources_json(c, &item.path, &report).await?;
    Ok(data_sources_response(c, value))
}

/// A string field of a data source in the body (any case; `None` when absent or null).
fn text<'a>(o: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Error> {
    match o
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Error::BadRequest(format!(
            "{name} must be a string, not {other}"
        ))),
    }
}

/// One change to the definition: the text of `element` inside the data source `source`.
struct Edit {
    source: String,
    element: &'static str,
    text: String,
}

/// `PUT Reports(key)/DataSources [{"Name": ..., "Path": ...} | {"Name": ..., "ConnectionString": ...}]`.
pub(super) async fn set_data_sources(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    let (item, bytes, report) = load(c, Permission::Write).await?;
    let (v, _share) = read_json_value(c, req).await?;
    let list = match v {
        Value::Array(a) => a,
        Value::Object(m) => match m.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")) {
            Some((_, Value::Array(a))) => a.clone(),
            _ => vec![Value::Object(m)],
        },
        _ => {
            return Err(Error::BadRequest(
                "the request body must be an array of data sources ({\"Name\": ..., ...}), as GET .../DataSources returns them".into(),
            ));
        }
    };
    if list.len() > MAX_DATA_SOURCES {
        return Err(Error::BadRequest(format!(
            "the body names more than {MAX_DATA_SOURCES} data sources"
        )));
    }
    let mut edits = Vec::new();
    for d in &list {
        let Value::Object(d) = d else {
            return Err(Error::BadRequest(format!(
                "the body holds {d}, which is not a data source object"
            )));
        };
        let name = text(d, "Name")?.ok_or_else(|| {
            Error::BadRequest("every data source needs the Name it has in the report".into())
        })?;
        let Some(ds) = report
            .data_sources
            .iter()
            .find(|s| s.name == name)
            .or_else(|| {
                report
                    .data_sources
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(name))
            })
        else {
            let names: Vec<&str> = report
                .data_sources
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            return Err(Error::BadRequest(format!(
                "the report has no data source named '{name}'; its data sources are: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        };
        let is_ref = match d
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("IsReference"))
            .map(|(_, v)| v)
        {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                return Err(Error::BadRequest(format!(
                    "IsReference must be true or false, not {other}"
                )));
            }
        };
        match &ds.kind {
            DataSourceKind::Reference(_) => {
                if is_ref == Some(false) {
                    return Err(Error::BadRequest(format!(
                        "'{name}' refers to a shared data source; turning it into an embedded one is not offered (edit the definition and upload it)"
                    )));
                }
                if let Some(p) = text(d, "Path")? {
                    let target = ItemPath::parse(p)
                        .map_err(|e| Error::BadRequest(format!("invalid Path of '{name}': {e}")))?;
                    match c.session.catalog.get_item(&target).await? {
                        Some(t) if t.item_type == ItemType::DataSource => {}
                        Some(t) => {
                            return Err(Error::BadRequest(format!(
                                "Path '{target}' of '{name}' is a {}, not a shared data source",
                                t.item_type
                            )));
                        }
                        None => {
                            return Err(Error::BadRequest(format!(
                                "Path '{target}' of '{name}' does not exist; upload the shared data source first"
                            )));
                        }
                    }
                    c.session.require(&target, Permission::Read).await?;
                    edits.push(Edit {
                        source: ds.name.clone(),
                        element: "DataSourceReference",
                        text: target.as_str().to_owned(),
                    });
                }
            }
            DataSourceKind::Embedded(cp) => {
                if is_ref == Some(true) || text(d, "Path")?.is_some_and(|p| !p.is_empty()) {
                    return Err(Error::BadRequest(format!(
                        "'{name}' is embedded in the report; turning it into a shared reference is not offered (edit the definition and upload it)"
                    )));
                }
                if let Some(cr) = text(d, "CredentialRetrieval")?
                    && !cr.eq_ignore_ascii_case(credential_retrieval(cp))
                {
                    return Err(Error::BadRequest(format!(
                        "changing CredentialRetrieval of the embedded data source '{name}' to '{cr}' is not offered; store credentials in a shared data source and refer to it"
                    )));
                }
                if let Some(t) = text(d, "DataSourceType")?
                    && t != cp.data_provider
                {
                    if t.trim().is_empty() || t.contains(['<', '>', '&']) {
                        return Err(Error::BadRequest(format!(
                            "DataSourceType '{t}' of '{name}' is not a data provider name"
                        )));
                    }
                    edits.push(Edit {
                        source: ds.name.clone(),
                        element: "DataProvider",
                        text: t.trim().to_owned(),
                    });
                }
                if let Some(cs) = text(d, "ConnectionString")? {
                    edits.push(Edit {
                        source: ds.name.clone(),
                        element: "ConnectString",
                        text: cs.to_owned(),
                    });
                }
            }
        }
    }
    if !edits.is_empty() {
        let new = apply_edits(&bytes, &edits)?;
        let desc = item.description.clone();
        store(c, &item.path, ItemType::Report, None, &desc, true, new).await?;
        tracing::info!(user = %c.session.principal.name, path = %item.path, changes = edits.len(), "report data sources changed (REST)");
    }
    let (item, _bytes, report) = load(c, Permission::Read).await?;
    let value = data_sources_json(c, &item.path, &report).await?;
    Ok(data_sources_response(c, value))
}

/// The definition with each edit's element content replaced by its (escaped) text.
fn apply_edits(bytes: &[u8], edits: &[Edit]) -> Result<Vec<u8>, Error> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let bom = bytes.len() - body.len();
    let xml = std::str::from_utf8(body).map_err(|_| {
        Error::BadRequest(
            "the stored definition is not UTF-8, so its data sources cannot be changed here; edit it and upload it".into(),
        )
    })?;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut source: Option<String> = None;
    // (start, end, replacement) byte ranges of the text to replace.
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    let mut open: Option<(usize, &Edit)> = None;
    let broken = |e: quick_xml::Error| {
        Error::BadRequest(format!("the stored definition cannot be read as XML: {e}"))
    };
    let wanted = |source: &Option<String>, stack: &[String], local: &str| -> Option<&Edit> {
        let s = source.as_ref()?;
        let depth_ok = match local {
            "DataSourceReference" => stack.len() == 3,
            _ => stack.len() == 4 && stack[3] == "ConnectionProperties",
        };
        if !depth_ok {
            return None;
        }
        edits.iter().find(|e| &e.source == s && e.element == local)
    };
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(broken)?;
        let after = reader.buffer_position() as usize;
        match ev {
            Event::Start(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if stack.len() == 2 && local == "DataSource" && stack[1] == "DataSources" {
                    source = e
                        .try_get_attribute("Name")
                        .ok()
                        .flatten()
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                }
                if let Some(ed) = wanted(&source, &stack, &local) {
                    open = Some((after, ed));
                }
                stack.push(local);
            }
            Event::Empty(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if let Some(ed) = wanted(&source, &stack, &local) {
                    let raw = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    spans.push((
                        before,
                        after,
                        format!(
                            "<{raw}>{}</{raw}>",
                            quick_xml::escape::escape(ed.text.as_str())
                        ),
                    ));
                }
            }
            Event::End(_) => {
                let local = stack.pop().unwrap_or_default();
                if let Some((start, ed)) = open.take_if(|(_, ed)| ed.element == local) {
                    spans.push((
                        start,
                        before,
                        quick_xml::escape::escape(ed.text.as_str()).into_owned(),
                    ));
                }
                if stack.len() == 2 && local == "DataSource" {
                    source = None;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // An edit of an element the definition lacks (a ConnectString missing...).
    if spans.len() != edits.len() {
        return Err(Error::BadRequest(
            "the stored definition does not have every element to change (DataSourceReference, ConnectionProperties/DataProvider, ConnectionProperties/ConnectString) where expected; edit it and upload it".into(),
        ));
    }
    spans.sort_by_key(|(s, _, _)| *s);
    let mut out = Vec::with_capacity(bytes.len() + 256);
    out.extend_from_slice(&bytes[..bom]);
    let mut at = 0;
    for (s, e, text) in spans {
        out.extend_from_slice(&body[at..s]);
        out.extend_from_slice(text.as_bytes());
        at = e;
    }
    out.extend_from_slice(&body[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RDL: &str = r#"<?xml version="1.0"?>
<Report xmlns="http://schemas.microsoft.com/sqlserver/reporting/2016/01/reportdefinition">
<DataSources>
<DataSource Name="Shared"><DataSourceReference>Old &amp; Gone</DataSourceReference></DataSource>
<DataSource Name="Local"><ConnectionProperties><DataProvider>SQLITE</DataProvider><ConnectString/></ConnectionProperties></DataSource>
</DataSources></Report>"#;

    #[test]
    fn edits_replace_only_the_named_elements() {
        let edits = [
            Edit {
                source: "Shared".into(),
                element: "DataSourceReference",
                text: "/Data/New <one>".into(),
            },
            Edit {
                source: "Local".into(),
                element: "ConnectString",
                text: "Data Source=a&b".into(),
            },
        ];
        let out = String::from_utf8(apply_edits(RDL.as_bytes(), &edits).unwrap()).unwrap();
        assert!(
            out.contains("<DataSourceReference>/Data/New &lt;one&gt;</DataSourceReference>"),
            "{out}"
        );
        assert!(
            out.contains("<ConnectString>Data Source=a&amp;b</ConnectString>"),
            "{out}"
        );
        assert!(out.contains("<DataProvider>SQLITE</DataProvider>"));
        let missing = [Edit {
            source: "Shared".into(),
            element: "DataProvider",
            text: "X".into(),
        }];
        assert!(apply_edits(RDL.as_bytes(), &missing).is_err());
    }

    #[test]
    fn parameter_references_are_found() {
        let mut out = Vec::new();
        parameter_refs(
            "Parameters!Year.Value & parameters!Region_1.Label",
            &mut out,
        );
        assert_eq!(out, ["Year", "Region_1"]);
    }
}
