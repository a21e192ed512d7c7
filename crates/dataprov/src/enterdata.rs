//! ENTERDATA: the table a report designer embeds in the data set's command text.
//!
//! The command text is an XML document (escaped inside the RDL):
//!
//! ```xml
//! <Query>
//!   <XmlData>
//!     <Data>
//!       <Row><Company>Contoso</Company><Amount>4</Amount></Row>
//!     </Data>
//!   </XmlData>
//!   <ElementPath>Data{}/Row{Company(String),Amount(Float)}</ElementPath>
//! </Query>
//! ```
//!
//! Each `Row` is a row, each child element a column named by the element. Columns are
//! typed from the data set's `rd:TypeName` (the [`FieldHint`]s whose `DataField` names the
//! column), else from the `ElementPath` type, else `System.String`; values parse with
//! invariant-culture rules (`1234.5`, ISO `2020-03-07T10:20:30` and `MM/dd/yyyy` dates).
//! A missing element is `Nothing`; an empty one is `""` in a string column and `Nothing`
//! otherwise. Must not: do I/O.

use std::sync::Arc;

use async_trait::async_trait;
use rdl::Value;
use rust_decimal::Decimal;
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::{
    BoundParam, Connection, DataError, DataProvider, DataTable, FieldHint, FieldMeta, Limits,
    Query, RowBudget, row_bytes,
};

/// The ENTERDATA provider (embedded data; no connection).
#[derive(Clone, Copy, Debug, Default)]
pub struct EnterDataProvider;

#[async_trait]
impl DataProvider for EnterDataProvider {
    fn names(&self) -> &'static [&'static str] {
        &["ENTERDATA"]
    }

    async fn execute(
        &self,
        _conn: &Connection,
        query: &Query,
        _params: &[BoundParam],
        limits: &Limits,
    ) -> Result<DataTable, DataError> {
        let (fields, rows) = parse_rows(&query.command_text, &query.fields)?;
        let mut budget = RowBudget::new(limits);
        for (i, row) in rows.iter().enumerate() {
            budget.admit(i, row_bytes(row))?;
        }
        Ok(DataTable::from_rows(fields, &rows))
    }

    async fn test_connection(&self, _conn: &Connection, _limits: &Limits) -> Result<(), DataError> {
        Ok(())
    }
}

/// The type a column's text converts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ColType {
    Str,
    Int,
    Float,
    Decimal,
    Bool,
    DateTime,
}

impl ColType {
    fn clr_name(self) -> &'static str {
        match self {
            ColType::Str => "System.String",
            ColType::Int => "System.Int64",
            ColType::Float => "System.Double",
            ColType::Decimal => "System.Decimal",
            ColType::Bool => "System.Boolean",
            ColType::DateTime => "System.DateTime",
        }
    }

    /// From `rd:TypeName` (`System.Int32`) or an `ElementPath` type (`Integer`); `None` when
    /// unknown.
    fn from_name(name: &str) -> Option<ColType> {
        let n = name.trim();
        let n = n.strip_prefix("System.").unwrap_or(n);
        Some(match n.to_ascii_lowercase().as_str() {
            "string" | "char" | "object" | "guid" => ColType::Str,
            "int16" | "int32" | "int64" | "uint16" | "uint32" | "uint64" | "byte" | "sbyte"
            | "integer" | "int" | "long" | "short" => ColType::Int,
            "double" | "single" | "float" => ColType::Float,
            "decimal" => ColType::Decimal,
            "boolean" | "bool" => ColType::Bool,
            "datetime" | "date" | "datetimeoffset" => ColType::DateTime,
            _ => return None,
        })
    }
}

/// Parses an ENTERDATA command text into a table, typing columns by `hints` (the data set's
/// fields; may be empty).
pub fn parse_table(text: &str, hints: &[FieldHint]) -> Result<DataTable, DataError> {
    let (fields, rows) = parse_rows(text, hints)?;
    Ok(DataTable::from_rows(fields, &rows))
}

/// The columns and rows of an ENTERDATA command text.
type Rows = (Vec<FieldMeta>, Vec<Box<[Value]>>);

fn parse_rows(text: &str, hints: &[FieldHint]) -> Result<Rows, DataError> {
    if text.trim().is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let doc = roxmltree::Document::parse(text).map_err(|e| DataError::EnterData {
        message: format!("the command text is not XML ({e})"),
    })?;
    let root = doc.root_element();
    // `<Query><XmlData><Data>`; also accept `<XmlData><Data>` and `<Data>` alone.
    let (xml_data, element_path) = match root.tag_name().name() {
        "Query" => {
            let xml_data = child(root, "XmlData").ok_or_else(|| DataError::EnterData {
                message: "<Query> has no <XmlData> element".into(),
            })?;
            let path = child(root, "ElementPath").map(text_of);
            (xml_data, path)
        }
        _ => (root, None),
    };
    let data = if xml_data.tag_name().name() == "XmlData" {
        xml_data.children().find(|n| n.is_element())
    } else {
        Some(xml_data)
    };
    let path = element_path.as_deref().map(parse_element_path);
    let mut columns: Vec<(String, Option<ColType>)> =
        path.as_ref().map(|p| p.columns.clone()).unwrap_or_default();
    let row_name = path.as_ref().and_then(|p| p.row.clone());

    let mut raw_rows: Vec<Vec<(usize, String)>> = Vec::new();
    if let Some(data) = data {
        for row in data.children().filter(|n| n.is_element()) {
            if let Some(name) = &row_name
                && row.tag_name().name() != name
            {
                continue;
            }
            let mut cells = Vec::new();
            for cell in row.children().filter(|n| n.is_element()) {
                let name = cell.tag_name().name();
                let idx = match columns.iter().position(|(c, _)| c == name) {
                    Some(i) => i,
                    None => {
                        columns.push((name.to_string(), None));
                        columns.len() - 1
                    }
                };
                cells.push((idx, text_of(cell)));
            }
            raw_rows.push(cells);
        }
    }

    let types: Vec<ColType> = columns
        .iter()
        .map(|(name, from_path)| {
            hints
                .iter()
                .find(|h| h.data_field == *name)
                .or_else(|| {
                    hints
                        .iter()
                        .find(|h| h.data_field.eq_ignore_ascii_case(name))
                })
                .and_then(|h| h.type_name.as_deref())
                .and_then(ColType::from_name)
                .or(*from_path)
                .unwrap_or(ColType::Str)
        })
        .collect();

    let mut rows = Vec::with_capacity(raw_rows.len());
    for (r, cells) in raw_rows.into_iter().enumerate() {
        let mut row = vec![Value::Null; columns.len()];
        for (idx, text) in cells {
            row[idx] = convert(&text, types[idx]).ok_or_else(|| DataError::EnterData {
                message: format!(
                    "row {}, column {}: '{}' is not a valid {}",
                    r + 1,
                    columns[idx].0,
                    text,
                    types[idx].clr_name()
                ),
            })?;
        }
        rows.push(row.into_boxed_slice());
    }
    let fields = columns
        .into_iter()
        .zip(&types)
        .map(|((name, _), t)| FieldMeta {
            name,
            type_name: t.clr_name().to_string(),
        })
        .collect();
    Ok((fields, rows))
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

/// `Data{}/Row{A(String),B(Float)}`: the row element's name and the typed column list.
#[derive(Debug)]
struct ElementPath {
    row: Option<String>,
    columns: Vec<(String, Option<ColType>)>,
}

fn parse_element_path(path: &str) -> ElementPath {
    let segments: Vec<&str> = path.trim().split('/').collect();
    let Some(last) = segments.last().filter(|_| segments.len() >= 2) else {
        return ElementPath {
            row: None,
            columns: Vec::new(),
        };
    };
    let (name, list) = match last.split_once('{') {
        Some((n, rest)) => (n.trim(), rest.trim_end().trim_end_matches('}')),
        None => (last.trim(), ""),
    };
    let columns = list
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| match c.split_once('(') {
            Some((n, t)) => (
                n.trim().to_string(),
                ColType::from_name(t.trim_end_matches(')')),
            ),
            None => (c.to_string(), None),
        })
        .collect();
    ElementPath {
        row: (!name.is_empty()).then(|| name.to_string()),
        columns,
    }
}

/// Converts a cell's text; `None` when it does not parse as `t`.
fn convert(text: &str, t: ColType) -> Option<Value> {
    if t == ColType::Str {
        return Some(Value::Str(Arc::from(text)));
    }
    let s = text.trim();
    if s.is_empty() {
        return Some(Value::Null);
    }
    Some(match t {
        ColType::Str => Value::Str(Arc::from(text)),
        ColType::Int => Value::Int(s.strip_prefix('+').unwrap_or(s).parse().ok()?),
        ColType::Float => {
            let n = s.replace(',', "");
            match n.to_ascii_lowercase().as_str() {
                "nan" | "inf" | "infinity" | "-inf" | "-infinity" => return None,
                _ => {}
            }
            Value::Float(n.parse().ok()?)
        }
        ColType::Decimal => {
            let n = s.replace(',', "");
            let n = n.strip_prefix('+').unwrap_or(&n);
            let d = Decimal::from_str_exact(n)
                .or_else(|_| Decimal::from_scientific(n))
                .ok()?;
            Value::Decimal(d)
        }
        ColType::Bool => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return None,
        },
        ColType::DateTime => Value::DateTime(parse_datetime(s)?),
    })
}

/// Invariant-culture date/time text: ISO 8601 (`2020-03-07`, `2020-03-07T10:20:30.5`,
/// `2020-03-07 10:20:30`, an offset or `Z` is accepted and the clock time kept as written)
/// and `MM/dd/yyyy[ HH:mm[:ss]]` (invariant "G"), also with `AM`/`PM`.
pub fn parse_datetime(s: &str) -> Option<PrimitiveDateTime> {
    let s = s.trim();
    let (date_part, time_part) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let date = if date_part.contains('-') {
        let mut it = date_part.splitn(3, '-');
        let y: i32 = it.next()?.parse().ok()?;
        let m: u8 = it.next()?.parse().ok()?;
        let d: u8 = it.next()?.parse().ok()?;
        Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()?
    } else {
        let mut it = date_part.splitn(3, '/');
        let m: u8 = it.next()?.parse().ok()?;
        let d: u8 = it.next()?.parse().ok()?;
        let y: i32 = it.next()?.parse().ok()?;
        Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()?
    };
    let time = match time_part {
        None | Some("") => Time::MIDNIGHT,
        Some(t) => parse_time(t)?,
    };
    Some(PrimitiveDateTime::new(date, time))
}

fn parse_time(t: &str) -> Option<Time> {
    let upper = t.to_ascii_uppercase();
    let (clock, pm) = if let Some(c) = upper.strip_suffix("PM") {
        (c.trim().to_string(), Some(true))
    } else if let Some(c) = upper.strip_suffix("AM") {
        (c.trim().to_string(), Some(false))
    } else {
        (upper, None)
    };
    // Drop a zone: `Z`, `+02:00`, `-0500`.
    let clock = clock.trim_end_matches('Z');
    let clock = match clock.find(['+', '-']) {
        Some(i) => &clock[..i],
        None => clock,
    };
    let mut it = clock.split(':');
    let mut h: u8 = it.next()?.trim().parse().ok()?;
    let m: u8 = it.next().map_or(Some(0), |x| x.parse().ok())?;
    let (sec, nanos) = match it.next() {
        None => (0u8, 0u32),
        Some(x) => {
            let (whole, frac) = x.split_once('.').unwrap_or((x, ""));
            let sec: u8 = whole.parse().ok()?;
            let mut digits: String = frac.chars().take(9).collect();
            if !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            while digits.len() < 9 {
                digits.push('0');
            }
            (sec, digits.parse().ok()?)
        }
    };
    if it.next().is_some() {
        return None;
    }
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        Some(_) if h > 12 => return None,
        _ => {}
    }
    Time::from_hms_nano(h, m, sec, nanos).ok()
}
