//! What the REST API says about one report's definition and its data sources:
//! `Reports(key)/ParameterDefinitions` (GET: the parameters as the definition declares
//! them; PATCH: DefaultValues, Prompt, ParameterVisibility), `Reports(key)/DataSources` (GET;
//! PUT changes a shared reference's path or an embedded source's type and connection
//! string), the connection checks (`DataSources(key)/Model.CheckConnection`,
//! `DataSources/Model.CheckConnection`, `Reports(key)/Model.CheckDataSourceConnection`), and
//! the `.rsds` a data source created from JSON fields is stored as.
//!
//! Definitions are parsed with [`rdl::parse_report`] off the async threads. A PUT or PATCH
//! edits the stored definition where the XML reader ([`quick_xml`]) locates the elements to
//! change, and stores the result through the upload path ([`super::items::store`]), which
//! checks it again; everything else of the file stays byte for byte. A connection check
//! connects and disconnects through `dataprov` (its connect timeout and the SQLite
//! directory allow-list apply) and answers `DataSourceCheckResult`; it never runs a query,
//! and its message never holds a password. Must not render.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use catalog::{CatalogItem, ItemPath, ItemType, Permission};
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
    let (bytes, report) = definition(c, &item).await?;
    Ok((item, bytes, report))
}

/// [`load`], then the request's JSON body (for the POST/PUT/PATCH on a report).
async fn load_with_body(
    c: &Call<'_>,
    req: Request,
    need: Permission,
) -> Result<(catalog::CatalogItem, Vec<u8>, Report, Value), Error> {
    let (item, bytes, report) = load(c, need).await?;
    let (v, _share) = read_json_value(c, req).await?;
    Ok((item, bytes, report, v))
}

/// The stored bytes of the report `item` and its parsed model.
async fn definition(c: &Call<'_>, item: &CatalogItem) -> Result<(Vec<u8>, Report), Error> {
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
    Ok((bytes, report))
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

/// A report's data sources as `$expand=DataSources` shows them (the caller checked Read).
pub(super) async fn expanded_data_sources(
    c: &Call<'_>,
    item: &CatalogItem,
) -> Result<Value, Error> {
    let (_bytes, report) = definition(c, item).await?;
    Ok(Value::Array(
        data_sources_json(c, &item.path, &report).await?,
    ))
}

/// `GET Reports(key)/DataSources`.
pub(super) async fn data_sources(c: &Call<'_>) -> Result<Response, Error> {
    let (item, _bytes, report) = load(c, Permission::Read).await?;
    let value = data_sources_json(c, &item.path, &report).await?;
    Ok(data_sources_response(c, value))
}

/// The entries of a PUT/PATCH body: an array, an object with a `value` array, or one object;
/// at most `max` of them (`what` names them in the error); `not_a_list` is the 400 otherwise.
fn body_list(v: Value, max: usize, what: &str, not_a_list: &str) -> Result<Vec<Value>, Error> {
    let list = match v {
        Value::Array(a) => a,
        Value::Object(m) => match m.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")) {
            Some((_, Value::Array(a))) => a.clone(),
            _ => vec![Value::Object(m)],
        },
        _ => return Err(Error::BadRequest(not_a_list.to_owned())),
    };
    if list.len() > max {
        return Err(Error::BadRequest(format!(
            "the body names more than {max} {what}"
        )));
    }
    Ok(list)
}

/// An entry of a body that must be an object (a 400 naming `what` it should be otherwise).
fn body_object<'a>(d: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Error> {
    match d {
        Value::Object(d) => Ok(d),
        _ => Err(Error::BadRequest(format!(
            "the body holds {d}, which is not a {what} object"
        ))),
    }
}

/// The entry of `list` that a body names `name`: the exact name first, else the one equal
/// to it but for ASCII case; a 400 listing the names there are otherwise (`what` says what
/// they are, e.g. "data source").
fn named<'a, T>(
    list: &'a [T],
    name: &str,
    name_of: impl Fn(&T) -> &String,
    what: &str,
) -> Result<&'a T, Error> {
    if let Some(found) = list
        .iter()
        .find(|t| name_of(t) == name)
        .or_else(|| list.iter().find(|t| name_of(t).eq_ignore_ascii_case(name)))
    {
        return Ok(found);
    }
    let names: Vec<&str> = list.iter().map(|t| name_of(t).as_str()).collect();
    Err(Error::BadRequest(format!(
        "the report has no {what} named '{name}'; its {what}s are: {}",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    )))
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
    let (item, bytes, report, v) = load_with_body(c, req, Permission::Write).await?;
    let list = body_list(
        v,
        MAX_DATA_SOURCES,
        "data sources",
        "the request body must be an array of data sources ({\"Name\": ..., ...}), as GET .../DataSources returns them",
    )?;
    let mut edits = Vec::new();
    for d in &list {
        let d = body_object(d, "data source")?;
        let name = text(d, "Name")?.ok_or_else(|| {
            Error::BadRequest("every data source needs the Name it has in the report".into())
        })?;
        let ds = named(&report.data_sources, name, |s| &s.name, "data source")?;
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
    let xml = definition_text(bytes, "data sources")?;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut source: Option<String> = None;
    // (start, end, replacement) byte ranges of the text to replace.
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    let mut open: Option<(usize, &Edit)> = None;
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
        let ev = reader.read_event().map_err(broken_xml)?;
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
    Ok(splice(bytes, spans))
}

/// The text of a stored definition after any UTF-8 BOM (the offsets [`splice`] takes); a
/// 400 saying its `what` cannot be changed here when it is not UTF-8.
fn definition_text<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, Error> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(body).map_err(|_| {
        Error::BadRequest(format!(
            "the stored definition is not UTF-8, so its {what} cannot be changed here; edit it and upload it"
        ))
    })
}

/// The 400 for a stored definition that is not well-formed XML.
fn broken_xml(e: quick_xml::Error) -> Error {
    Error::BadRequest(format!("the stored definition cannot be read as XML: {e}"))
}

/// `bytes` with each span `(start, end, text)` of its text after any UTF-8 BOM replaced by
/// `text` (spans do not overlap; the BOM is kept).
fn splice(bytes: &[u8], mut spans: Vec<(usize, usize, String)>) -> Vec<u8> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let bom = bytes.len() - body.len();
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
    out
}

// ------------------------------------------------------------- data sources from fields

/// The `.rsds` (`DataSourceDefinition`) of a data source created from JSON fields, as
/// ReportingServicesTools' Write-RsRestCatalogItem sends them (`DataSourceType`,
/// `ConnectionString`, `CredentialRetrieval`, `CredentialsInServer`, `CredentialsByUser`,
/// `IsEnabled`). The upload path seals a password before anything is stored.
pub(super) fn data_source_from_fields(body: &Map<String, Value>) -> Result<Vec<u8>, Error> {
    let (ds, password) = shared_from_fields(body)?;
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<DataSourceDefinition xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource\">\n",
    );
    let mut el = |name: &str, value: &str| {
        x.push_str(&format!(
            "  <{name}>{}</{name}>\n",
            quick_xml::escape::escape(value)
        ));
    };
    el("Extension", &ds.extension);
    el("ConnectString", &ds.connect_string);
    el("CredentialRetrieval", ds.credential_retrieval.as_str());
    if let Some(u) = &ds.user_name {
        el("UserName", u);
    }
    if let Some(p) = &password {
        el("Password", p);
    }
    if let Some(p) = &ds.prompt {
        el("Prompt", p);
    }
    el("Enabled", if ds.enabled { "True" } else { "False" });
    x.push_str("</DataSourceDefinition>\n");
    Ok(zeroize::Zeroizing::new(x).as_bytes().to_vec())
}

fn object<'a>(
    o: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, Error> {
    match o
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(Error::BadRequest(format!(
            "{name} must be an object, not {other}"
        ))),
    }
}

/// A shared data source from JSON fields, and the password of `CredentialsInServer`.
fn shared_from_fields(
    body: &Map<String, Value>,
) -> Result<
    (
        dataprov::rds::SharedDataSource,
        Option<zeroize::Zeroizing<String>>,
    ),
    Error,
> {
    use dataprov::rds::CredentialRetrieval as Cr;
    let extension = text(body, "DataSourceType")?
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::BadRequest(
                "a data source needs either Content (the base64 of its .rds or .rsds file) or DataSourceType and ConnectionString".into(),
            )
        })?;
    let connect_string = text(body, "ConnectionString")?.ok_or_else(|| {
        Error::BadRequest(
            "ConnectionString is missing; give the data source's connection string".into(),
        )
    })?;
    let cr = match text(body, "CredentialRetrieval")?.map(str::trim) {
        None | Some("") => Cr::None,
        Some(v) => [Cr::None, Cr::Prompt, Cr::Store, Cr::Integrated]
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(v))
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "CredentialRetrieval '{v}' is not one of None, Prompt, Store, Integrated"
                ))
            })?,
    };
    let mut user_name = None;
    let mut password = None;
    if let Some(cs) = object(body, "CredentialsInServer")? {
        if cr != Cr::Store {
            return Err(Error::BadRequest(
                "CredentialsInServer is given but CredentialRetrieval is not Store".into(),
            ));
        }
        user_name = text(cs, "UserName")?.map(str::to_owned);
        password = text(cs, "Password")?.map(|p| zeroize::Zeroizing::new(p.to_owned()));
    } else if cr == Cr::Store {
        return Err(Error::BadRequest(
            "CredentialRetrieval is Store: give CredentialsInServer {\"UserName\": ..., \"Password\": ...}".into(),
        ));
    }
    let prompt = match object(body, "CredentialsByUser")? {
        Some(u) => text(u, "DisplayText")?.map(str::to_owned),
        None => None,
    };
    let prompt = match (cr, prompt) {
        (Cr::Prompt, p) => Some(p.unwrap_or_default()),
        (_, _) => None,
    };
    let enabled = match body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("IsEnabled"))
        .map(|(_, v)| v)
    {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "IsEnabled must be true or false, not {other}"
            )));
        }
    };
    for (name, v) in [
        ("DataSourceType", extension),
        ("ConnectionString", connect_string),
    ] {
        if v.contains('\0') {
            return Err(Error::BadRequest(format!(
                "{name} contains a NUL character"
            )));
        }
    }
    let ds = dataprov::rds::SharedDataSource {
        extension: extension.to_owned(),
        connect_string: connect_string.to_owned(),
        credential_retrieval: cr,
        user_name,
        password: password.clone(),
        prompt,
        windows_credentials: false,
        enabled,
    };
    Ok((ds, password))
}

// ---------------------------------------------------------------- connection checks

/// `DataSourceCheckResult`.
fn check_result(c: &Call<'_>, r: Result<(), String>) -> Response {
    let (ok, msg) = match r {
        Ok(()) => (true, Value::Null),
        Err(m) => (false, json!(m)),
    };
    json_ok(json!({
        "@odata.context": format!("{}/$metadata#Model.DataSourceCheckResult", c.api_base),
        "IsSuccessful": ok,
        "ErrorMessage": msg,
    }))
}

/// Connects to `conn` and disconnects; the error in words (no password: `dataprov`'s
/// messages redact connect strings).
async fn try_connect(c: &Call<'_>, conn: &dataprov::Connection) -> Result<(), String> {
    let limits = crate::report::datasources::limits(&c.state.settings());
    let registry = c.state.reports().registry();
    let provider = registry.get(&conn.extension).map_err(|e| e.to_string())?;
    provider
        .test_connection(conn, &limits)
        .await
        .map_err(|e| e.to_string())
}

/// The connection of a stored shared data source, or why there is none to test.
async fn shared_connection(c: &Call<'_>, path: &ItemPath) -> Result<dataprov::Connection, String> {
    let ds = crate::report::datasources::shared(c.session, path, &c.state.key()[..])
        .await
        .map_err(|e| e.message)?;
    if ds.credential_retrieval == dataprov::rds::CredentialRetrieval::Prompt {
        return Err(format!(
            "the data source '{path}' prompts for credentials when a report runs, so it cannot be tested without them; store credentials in it to test it"
        ));
    }
    Ok(dataprov::Connection {
        extension: ds.extension.clone(),
        connect_string: ds.connect_string.clone(),
        credentials: ds.credentials(),
    })
}

/// `POST DataSources(key)/Model.CheckConnection`.
pub(super) async fn check_connection(c: &Call<'_>) -> Result<Response, Error> {
    let item = resolve(c, Permission::Read).await?;
    let r = match shared_connection(c, &item.path).await {
        Ok(conn) => try_connect(c, &conn).await,
        Err(e) => Err(e),
    };
    tracing::info!(user = %c.session.principal.name, path = %item.path, ok = r.is_ok(), "data source connection checked (REST)");
    Ok(check_result(c, r))
}

/// `POST DataSources/Model.CheckConnection {DataSourceType, ConnectionString, ...}`: a data
/// source that is not stored; Write on the root folder (who may create data sources there).
pub(super) async fn check_new_connection(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    c.session
        .require(&ItemPath::root(), Permission::Write)
        .await?;
    let (body, _share) = super::items::read_json(c, req).await?;
    let (ds, _password) = shared_from_fields(&body)?;
    if ds.credential_retrieval == dataprov::rds::CredentialRetrieval::Prompt {
        return Ok(check_result(
            c,
            Err(
                "the data source prompts for credentials; give CredentialsInServer to test it"
                    .into(),
            ),
        ));
    }
    let conn = dataprov::Connection {
        extension: ds.extension.clone(),
        connect_string: ds.connect_string.clone(),
        credentials: ds.credentials(),
    };
    let r = try_connect(c, &conn).await;
    Ok(check_result(c, r))
}

/// `POST Reports(key)/Model.CheckDataSourceConnection {"DataSourceName": ...}` (or the name
/// as a JSON string, as the swagger has it): the report's data source of that name.
pub(super) async fn check_report_data_source(
    c: &Call<'_>,
    req: Request,
) -> Result<Response, Error> {
    let (item, _bytes, report, v) = load_with_body(c, req, Permission::Read).await?;
    let name = match &v {
        Value::String(s) => s.clone(),
        Value::Object(m) => text(m, "DataSourceName")?
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::BadRequest(
                    "DataSourceName is missing; name the report's data source to check".into(),
                )
            })?,
        _ => {
            return Err(Error::BadRequest(
                "the request body must be {\"DataSourceName\": \"...\"}".into(),
            ));
        }
    };
    let Some(ds) = report
        .data_sources
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(&name))
    else {
        return Err(Error::BadRequest(format!(
            "the report '{}' has no data source named '{name}'",
            item.path
        )));
    };
    let conn = match &ds.kind {
        DataSourceKind::Reference(r) => {
            let target = reference_path(&item.path, r)?;
            c.session.require(&target, Permission::Read).await?;
            shared_connection(c, &target).await
        }
        DataSourceKind::Embedded(cp) => match &cp.connect_string {
            _ if cp.prompt.is_some() => Err(format!(
                "the data source '{}' prompts for credentials when the report runs, so it cannot be tested without them",
                ds.name
            )),
            Expression::Constant(s) => Ok(dataprov::Connection {
                extension: cp.data_provider.clone(),
                connect_string: s.clone(),
                credentials: None,
            }),
            Expression::Expr { .. } => Err(format!(
                "the connection string of '{}' is an expression, evaluated only when the report runs",
                ds.name
            )),
        },
    };
    let r = match conn {
        Ok(conn) => try_connect(c, &conn).await,
        Err(e) => Err(e),
    };
    Ok(check_result(c, r))
}

// ------------------------------------------------------- PATCH ParameterDefinitions

/// Most parameters one PATCH names.
const MAX_PARAMETERS: usize = 256;
/// Most default values one parameter takes.
const MAX_DEFAULTS: usize = 1000;

/// What one PATCH changes on one parameter.
#[derive(Debug, Default)]
struct ParamPatch {
    name: String,
    /// `Some(None)`: remove the prompt (Internal).
    prompt: Option<Option<String>>,
    hidden: Option<bool>,
    /// `Some(None)`: remove the default.
    defaults: Option<Option<Vec<String>>>,
}

fn check_value(p: &ReportParameter, v: &str) -> Result<(), Error> {
    let ok = match p.data_type {
        ParameterType::String | ParameterType::DateTime => true,
        ParameterType::Integer => v.trim().parse::<i64>().is_ok(),
        ParameterType::Float => v.trim().parse::<f64>().is_ok_and(f64::is_finite),
        ParameterType::Boolean => {
            v.trim().eq_ignore_ascii_case("true") || v.trim().eq_ignore_ascii_case("false")
        }
    };
    if ok && !v.contains('\0') {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "'{v}' is not a valid default of the {} parameter '{}'",
            type_name(p.data_type),
            p.name
        )))
    }
}

/// The patches of the body, checked against the report's parameters.
fn param_patches(report: &Report, v: Value) -> Result<Vec<ParamPatch>, Error> {
    let list = body_list(
        v,
        MAX_PARAMETERS,
        "parameters",
        "the request body must be an array of parameters ({\"Name\": ..., \"DefaultValues\": [...], \"Prompt\": ..., \"ParameterVisibility\": ...})",
    )?;
    let mut out: Vec<ParamPatch> = Vec::new();
    for d in &list {
        let d = body_object(d, "parameter")?;
        for k in d.keys() {
            let known = ["Name", "DefaultValues", "Prompt", "ParameterVisibility"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(k));
            // What GET returns may come back whole: only the patchable fields change.
            let read_only = [
                "ParameterType",
                "ParameterState",
                "ValidValues",
                "ValidValuesIsNull",
                "ValidValuesQueryBased",
                "AllowBlank",
                "MultiValue",
                "Nullable",
                "PromptUser",
                "QueryParameter",
                "DefaultValuesIsNull",
                "DefaultValuesQueryBased",
                "Dependencies",
                "ErrorMessage",
            ]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(k));
            if !known && !read_only && !k.starts_with("@odata.") {
                return Err(Error::BadRequest(format!(
                    "the property '{k}' of a parameter cannot be changed; PATCH takes Name, DefaultValues, Prompt and ParameterVisibility"
                )));
            }
        }
        let name = text(d, "Name")?.ok_or_else(|| {
            Error::BadRequest("every parameter needs the Name it has in the report".into())
        })?;
        let p = named(&report.parameters, name, |p| &p.name, "parameter")?;
        if out.iter().any(|o| o.name == p.name) {
            return Err(Error::BadRequest(format!(
                "the parameter '{}' is named twice",
                p.name
            )));
        }
        let mut patch = ParamPatch {
            name: p.name.clone(),
            ..ParamPatch::default()
        };
        if let Some(prompt) = text(d, "Prompt")? {
            if prompt.contains('\0') {
                return Err(Error::BadRequest("Prompt contains a NUL character".into()));
            }
            patch.prompt = Some(Some(prompt.to_owned()));
        }
        match text(d, "ParameterVisibility")? {
            None => {}
            Some(v) if v.eq_ignore_ascii_case("Visible") || v.eq_ignore_ascii_case("Hidden") => {
                patch.hidden = Some(v.eq_ignore_ascii_case("Hidden"));
                if patch.prompt.is_none() && p.prompt.is_none() {
                    // Shown (or hidden but settable) parameters have a prompt.
                    patch.prompt = Some(Some(p.name.clone()));
                }
            }
            Some(v) if v.eq_ignore_ascii_case("Internal") => {
                if patch.prompt.is_some() {
                    return Err(Error::BadRequest(format!(
                        "'{}': an Internal parameter has no Prompt; send either Prompt or ParameterVisibility Internal",
                        p.name
                    )));
                }
                patch.prompt = Some(None);
                patch.hidden = Some(false);
            }
            Some(v) => {
                return Err(Error::BadRequest(format!(
                    "ParameterVisibility '{v}' is not one of Visible, Hidden, Internal"
                )));
            }
        }
        match d
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("DefaultValues"))
            .map(|(_, v)| v)
        {
            None => {}
            Some(Value::Null) => patch.defaults = Some(None),
            Some(Value::Array(vs)) => {
                if vs.len() > MAX_DEFAULTS {
                    return Err(Error::BadRequest(format!(
                        "'{}' is given more than {MAX_DEFAULTS} default values",
                        p.name
                    )));
                }
                if vs.len() > 1 && !p.multi_value {
                    return Err(Error::BadRequest(format!(
                        "'{}' is not multi-valued: give it one default value",
                        p.name
                    )));
                }
                let mut values = Vec::with_capacity(vs.len());
                for v in vs {
                    let Value::String(s) = v else {
                        return Err(Error::BadRequest(format!(
                            "the default values of '{}' must be strings, not {v}",
                            p.name
                        )));
                    };
                    check_value(p, s)?;
                    values.push(s.clone());
                }
                patch.defaults = Some(if values.is_empty() {
                    None
                } else {
                    Some(values)
                });
            }
            Some(other) => {
                return Err(Error::BadRequest(format!(
                    "DefaultValues must be an array of strings, not {other}"
                )));
            }
        }
        out.push(patch);
    }
    Ok(out)
}

/// The definition with the parameters' `Prompt`, `Hidden` and `DefaultValue` elements
/// replaced, removed or added as `patches` say.
fn apply_param_patches(bytes: &[u8], patches: &[ParamPatch]) -> Result<Vec<u8>, Error> {
    let xml = definition_text(bytes, "parameters")?;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    // The parameter being read: its patch, its element prefix (`rdl:`) and the children
    // seen (name, start, end).
    let mut current: Option<(&ParamPatch, String)> = None;
    let mut children: Vec<(String, usize, usize)> = Vec::new();
    let mut child_start: Option<(String, usize)> = None;
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    let mut done = 0;
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(broken_xml)?;
        let after = reader.buffer_position() as usize;
        match ev {
            Event::Start(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if stack.len() == 2 && local == "ReportParameter" && stack[1] == "ReportParameters"
                {
                    let name = e
                        .try_get_attribute("Name")
                        .ok()
                        .flatten()
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                    let raw = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    let prefix = raw.strip_suffix(local.as_str()).unwrap_or("").to_owned();
                    current = name
                        .and_then(|n| patches.iter().find(|p| p.name == n))
                        .map(|p| (p, prefix));
                    children.clear();
                }
                if stack.len() == 3 && current.is_some() {
                    child_start = Some((local.clone(), before));
                }
                stack.push(local);
            }
            Event::Empty(e) if stack.len() == 3 && current.is_some() => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                children.push((local, before, after));
            }
            Event::End(_) => {
                let local = stack.pop().unwrap_or_default();
                if stack.len() == 3
                    && let Some((name, start)) = child_start.take()
                {
                    children.push((name, start, after));
                }
                if stack.len() == 2
                    && local == "ReportParameter"
                    && let Some((patch, prefix)) = current.take()
                {
                    done += 1;
                    let mut inserts = String::new();
                    let el = |name: &str, inner: &str| {
                        format!("<{prefix}{name}>{inner}</{prefix}{name}>")
                    };
                    let mut put =
                        |name: &str,
                         new: Option<String>,
                         spans: &mut Vec<(usize, usize, String)>| {
                            let mut found = false;
                            for (n, s, e) in &children {
                                if n == name {
                                    let text = if found {
                                        String::new()
                                    } else {
                                        new.clone().unwrap_or_default()
                                    };
                                    spans.push((*s, *e, text));
                                    found = true;
                                }
                            }
                            if !found && let Some(t) = new {
                                inserts.push_str(&t);
                            }
                        };
                    if let Some(p) = &patch.prompt {
                        let new = p
                            .as_ref()
                            .map(|t| el("Prompt", &quick_xml::escape::escape(t.as_str())));
                        put("Prompt", new, &mut spans);
                    }
                    if let Some(h) = patch.hidden {
                        put(
                            "Hidden",
                            Some(el("Hidden", if h { "true" } else { "false" })),
                            &mut spans,
                        );
                    }
                    if let Some(d) = &patch.defaults {
                        let new = d.as_ref().map(|vs| {
                            let values: String = vs
                                .iter()
                                .map(|v| el("Value", &quick_xml::escape::escape(v.as_str())))
                                .collect();
                            el("DefaultValue", &el("Values", &values))
                        });
                        put("DefaultValue", new, &mut spans);
                    }
                    if !inserts.is_empty() {
                        spans.push((before, before, inserts));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if done != patches.len() {
        return Err(Error::BadRequest(
            "the stored definition does not declare every parameter to change where expected (Report/ReportParameters/ReportParameter); edit it and upload it".into(),
        ));
    }
    Ok(splice(bytes, spans))
}

/// `PATCH Reports(key)/ParameterDefinitions [{"Name": ..., "DefaultValues": [...], ...}]`:
/// 204; the stored definition changes (and is checked again) or nothing does.
pub(super) async fn set_parameter_definitions(
    c: &Call<'_>,
    req: Request,
) -> Result<Response, Error> {
    let (item, bytes, report, v) = load_with_body(c, req, Permission::Write).await?;
    let patches = param_patches(&report, v)?;
    let changes = patches
        .iter()
        .filter(|p| p.prompt.is_some() || p.hidden.is_some() || p.defaults.is_some())
        .count();
    if changes > 0 {
        let new = apply_param_patches(&bytes, &patches)?;
        let desc = item.description.clone();
        store(c, &item.path, ItemType::Report, None, &desc, true, new).await?;
        tracing::info!(user = %c.session.principal.name, path = %item.path, changes, "report parameters changed (REST)");
    }
    Ok(http::StatusCode::NO_CONTENT.into_response())
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
