//! OData system query options on collections of catalog items: `$filter`, `$orderby`,
//! `$top`, `$skip`, `$count`, `$select`, `$expand`, and `@name` parameter aliases.
//!
//! Option names are case-insensitive and the `$` is optional (OData 4.01), so `filter=` is
//! not silently ignored. An unknown or malformed option is a 400 naming it; nothing is ever
//! ignored. `$filter` is parsed into a typed expression before any item is looked at
//! (comparisons of different types, unknown properties and functions are refused), and is
//! bounded: [`MAX_FILTER_BYTES`], [`MAX_TERMS`] comparisons, [`MAX_DEPTH`] nesting.
//!
//! Pure: no I/O. Evaluation cannot fail once parsing succeeded.

use std::borrow::Borrow;
use std::cmp::Ordering;

use catalog::CatalogItem;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Error;

/// Longest `$filter` accepted, in bytes (after percent-decoding).
pub(crate) const MAX_FILTER_BYTES: usize = 16 * 1024;
/// Most comparisons and function calls in one `$filter`.
pub(crate) const MAX_TERMS: usize = 200;
/// Deepest nesting of parentheses and `not` in one `$filter`.
pub(crate) const MAX_DEPTH: usize = 32;
/// Most names one `properties=` option takes.
const MAX_PROPERTY_NAMES: usize = 64;

/// An item with its parent folder's id, as collections hold them.
pub(crate) type Pair = (CatalogItem, Option<uuid::Uuid>);

/// Item properties that `$filter` and `$orderby` can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prop {
    Id,
    Name,
    Path,
    Type,
    Hidden,
    Description,
    CreatedDate,
    ModifiedDate,
    CreatedBy,
    ModifiedBy,
    Size,
    ContentType,
}

const PROPS: [(&str, Prop); 12] = [
    ("Id", Prop::Id),
    ("Name", Prop::Name),
    ("Path", Prop::Path),
    ("Type", Prop::Type),
    ("Hidden", Prop::Hidden),
    ("Description", Prop::Description),
    ("CreatedDate", Prop::CreatedDate),
    ("ModifiedDate", Prop::ModifiedDate),
    ("CreatedBy", Prop::CreatedBy),
    ("ModifiedBy", Prop::ModifiedBy),
    ("Size", Prop::Size),
    ("ContentType", Prop::ContentType),
];

/// The property names of a catalog item in JSON, for `$select`.
pub(crate) const SELECTABLE: [&str; 15] = [
    "Id",
    "Name",
    "Description",
    "Path",
    "Type",
    "Hidden",
    "Size",
    "ModifiedBy",
    "ModifiedDate",
    "CreatedBy",
    "CreatedDate",
    "ParentFolderId",
    "ContentType",
    "Content",
    "IsFavorite",
];

fn prop_named(name: &str) -> Option<Prop> {
    PROPS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, p)| *p)
}

fn prop_names() -> String {
    PROPS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Str,
    Int,
    Bool,
    Date,
    Null,
}

impl Prop {
    fn ty(self) -> Ty {
        match self {
            Prop::Hidden => Ty::Bool,
            Prop::Size => Ty::Int,
            Prop::CreatedDate | Prop::ModifiedDate => Ty::Date,
            _ => Ty::Str,
        }
    }

    fn value(self, item: &CatalogItem) -> Val {
        match self {
            Prop::Id => Val::Str(item.id.to_string()),
            Prop::Name => Val::Str(item.name.clone()),
            Prop::Path => Val::Str(item.path.as_str().to_owned()),
            Prop::Type => Val::Str(super::Kind::of(item).name().to_owned()),
            Prop::Hidden => Val::Bool(item.hidden),
            Prop::Description if item.description.is_empty() => Val::Null,
            Prop::Description => Val::Str(item.description.clone()),
            Prop::CreatedDate => Val::Date(item.created_at),
            Prop::ModifiedDate => Val::Date(item.modified_at),
            Prop::CreatedBy => Val::Str(item.created_by.clone()),
            Prop::ModifiedBy => Val::Str(item.modified_by.clone()),
            Prop::Size => Val::Int(item.size),
            Prop::ContentType => item.mime_type.clone().map_or(Val::Null, Val::Str),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    Date(OffsetDateTime),
    Null,
}

impl Val {
    fn cmp(&self, other: &Val) -> Option<Ordering> {
        match (self, other) {
            (Val::Str(a), Val::Str(b)) => Some(a.cmp(b)),
            (Val::Int(a), Val::Int(b)) => Some(a.cmp(b)),
            (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
            (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
            (Val::Null, Val::Null) => Some(Ordering::Equal),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrFn {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Clone, Debug)]
pub(crate) enum Operand {
    Prop(Prop),
    Lit(Val),
    Lower(Box<Operand>),
    Upper(Box<Operand>),
}

impl Operand {
    fn ty(&self) -> Ty {
        match self {
            Operand::Prop(p) => p.ty(),
            Operand::Lit(Val::Str(_)) => Ty::Str,
            Operand::Lit(Val::Int(_)) => Ty::Int,
            Operand::Lit(Val::Bool(_)) => Ty::Bool,
            Operand::Lit(Val::Date(_)) => Ty::Date,
            Operand::Lit(Val::Null) => Ty::Null,
            Operand::Lower(_) | Operand::Upper(_) => Ty::Str,
        }
    }

    fn eval(&self, item: &CatalogItem) -> Val {
        match self {
            Operand::Prop(p) => p.value(item),
            Operand::Lit(v) => v.clone(),
            Operand::Lower(o) => match o.eval(item) {
                Val::Str(s) => Val::Str(s.to_lowercase()),
                other => other,
            },
            Operand::Upper(o) => match o.eval(item) {
                Val::Str(s) => Val::Str(s.to_uppercase()),
                other => other,
            },
        }
    }
}

/// A parsed `$filter`.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(CmpOp, Operand, Operand),
    Str(StrFn, Operand, Operand),
    Bool(Operand),
}

impl Expr {
    /// Whether `item` passes the filter.
    pub(crate) fn matches(&self, item: &CatalogItem) -> bool {
        match self {
            Expr::Or(a, b) => a.matches(item) || b.matches(item),
            Expr::And(a, b) => a.matches(item) && b.matches(item),
            Expr::Not(e) => !e.matches(item),
            Expr::Cmp(op, a, b) => {
                let (a, b) = (a.eval(item), b.eval(item));
                match (op, a.cmp(&b)) {
                    (CmpOp::Eq, o) => o == Some(Ordering::Equal),
                    (CmpOp::Ne, o) => o != Some(Ordering::Equal),
                    // Ordering against null is false, as in OData.
                    (_, None) => false,
                    (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
                    (CmpOp::Ge, Some(o)) => o != Ordering::Less,
                    (CmpOp::Lt, Some(o)) => o == Ordering::Less,
                    (CmpOp::Le, Some(o)) => o != Ordering::Greater,
                }
            }
            Expr::Str(f, a, b) => match (a.eval(item), b.eval(item)) {
                (Val::Str(a), Val::Str(b)) => match f {
                    StrFn::Contains => a.contains(&b),
                    StrFn::StartsWith => a.starts_with(&b),
                    StrFn::EndsWith => a.ends_with(&b),
                },
                _ => false,
            },
            Expr::Bool(o) => o.eval(item) == Val::Bool(true),
        }
    }
}

/// What `$expand` can add to an item (as SSRS expands).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expand {
    Properties,
    Policies,
    DataSources,
}

const EXPANDABLE: [(&str, Expand); 3] = [
    ("Properties", Expand::Properties),
    ("Policies", Expand::Policies),
    ("DataSources", Expand::DataSources),
];

/// The query options of one request.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub filter: Option<Expr>,
    pub orderby: Vec<(Prop, bool)>,
    pub top: Option<usize>,
    pub skip: usize,
    pub count: bool,
    /// Property names as spelled in [`SELECTABLE`].
    pub select: Option<Vec<&'static str>>,
    pub expand: Vec<Expand>,
    /// `properties=A,B` of `GET .../Properties`: which properties to return.
    pub properties: Option<Vec<String>>,
    /// `@name` → raw value (still quoted).
    pub aliases: Vec<(String, String)>,
    /// Whether a collection-only option was given.
    collection_only: Option<&'static str>,
}

impl Options {
    pub(crate) fn alias(&self, name: &str) -> Option<String> {
        self.aliases
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    /// Refuses collection options on a request for one entity.
    pub(crate) fn for_entity(&self) -> Result<(), Error> {
        match self.collection_only {
            Some(name) => Err(Error::BadRequest(format!(
                "the query option ${name} applies to collections, not to a single item"
            ))),
            None => Ok(()),
        }
    }

    /// Filters, orders and pages `items` (owned or borrowed); returns the count after
    /// filtering.
    pub(crate) fn apply<T: Borrow<Pair>>(&self, items: &mut Vec<T>) -> usize {
        if let Some(f) = &self.filter {
            items.retain(|t| f.matches(&Borrow::<Pair>::borrow(t).0));
        }
        if !self.orderby.is_empty() {
            items.sort_by(|x, y| {
                let (a, b) = (&Borrow::<Pair>::borrow(x).0, &Borrow::<Pair>::borrow(y).0);
                for (p, desc) in &self.orderby {
                    let o = order_key(*p, a).cmp_for_sort(&order_key(*p, b));
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
        }
        let count = items.len();
        let skip = self.skip.min(items.len());
        items.drain(..skip);
        if let Some(top) = self.top {
            items.truncate(top);
        }
        count
    }
}

/// Sort key: strings case-insensitively (as SSRS's collation), nulls first.
fn order_key(p: Prop, item: &CatalogItem) -> Val {
    match p.value(item) {
        Val::Str(s) => Val::Str(s.to_lowercase()),
        v => v,
    }
}

impl Val {
    fn cmp_for_sort(&self, other: &Val) -> Ordering {
        match (self, other) {
            (Val::Null, Val::Null) => Ordering::Equal,
            (Val::Null, _) => Ordering::Less,
            (_, Val::Null) => Ordering::Greater,
            _ => self.cmp(other).unwrap_or(Ordering::Equal),
        }
    }
}

/// Parses the query string (raw, percent-encoded). Values are percent-decoded (a `+` stays
/// a `+`).
pub(crate) fn parse(query: Option<&str>) -> Result<Options, Error> {
    let mut o = Options::default();
    let mut seen: Vec<String> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(k, "a query option name")?;
        let v = decode(v, &format!("the query option {k}"))?;
        if let Some(alias) = k.strip_prefix('@') {
            o.aliases.push((alias.to_owned(), v));
            continue;
        }
        let name = k.strip_prefix('$').unwrap_or(&k).to_ascii_lowercase();
        if seen.contains(&name) {
            return Err(Error::BadRequest(format!(
                "the query option ${name} is given twice"
            )));
        }
        seen.push(name.clone());
        match name.as_str() {
            "filter" => {
                o.filter = Some(parse_filter(&v)?);
                o.collection_only = Some("filter");
            }
            "orderby" => {
                o.orderby = parse_orderby(&v)?;
                o.collection_only = Some("orderby");
            }
            "top" => {
                o.top = Some(number("top", &v)?);
                o.collection_only = Some("top");
            }
            "skip" => {
                o.skip = number("skip", &v)?;
                o.collection_only = Some("skip");
            }
            "count" => {
                o.count = match v.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(Error::BadRequest(format!(
                            "$count must be true or false, not '{v}'"
                        )));
                    }
                };
                o.collection_only = Some("count");
            }
            "select" => o.select = Some(parse_select(&v)?),
            "expand" => {
                for e in v.split(',').map(str::trim) {
                    let found = EXPANDABLE
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(e))
                        .map(|(_, x)| *x)
                        .ok_or_else(|| {
                            Error::BadRequest(format!(
                                "$expand={e} is not offered; $expand takes Properties, Policies and DataSources"
                            ))
                        })?;
                    if !o.expand.contains(&found) {
                        o.expand.push(found);
                    }
                }
            }
            "format" if v.eq_ignore_ascii_case("json") => {}
            "properties" => {
                let names: Vec<String> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect();
                if names.len() > MAX_PROPERTY_NAMES {
                    return Err(Error::BadRequest(format!(
                        "properties names more than {MAX_PROPERTY_NAMES} properties"
                    )));
                }
                o.properties = Some(names);
            }
            _ => {
                return Err(Error::BadRequest(format!(
                    "unknown query option '{k}'; the options are $filter, $orderby, $top, $skip, $count, $select, $expand, properties (of .../Properties) and @alias parameters"
                )));
            }
        }
    }
    Ok(o)
}

fn decode(s: &str, what: &str) -> Result<String, Error> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| Error::BadRequest(format!("{what} is not valid UTF-8")))
}

fn number(name: &str, v: &str) -> Result<usize, Error> {
    v.trim().parse::<usize>().map_err(|_| {
        Error::BadRequest(format!(
            "${name} must be a non-negative whole number, not '{v}'"
        ))
    })
}

fn parse_select(v: &str) -> Result<Vec<&'static str>, Error> {
    let mut out = Vec::new();
    for s in v.split(',').map(str::trim) {
        if s == "*" {
            return Ok(SELECTABLE.to_vec());
        }
        let found = SELECTABLE
            .iter()
            .find(|n| n.eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "$select names the unknown property '{s}'; properties are: {}",
                    SELECTABLE.join(", ")
                ))
            })?;
        out.push(*found);
    }
    Ok(out)
}

fn parse_orderby(v: &str) -> Result<Vec<(Prop, bool)>, Error> {
    let mut out = Vec::new();
    for part in v.split(',') {
        let mut words = part.split_whitespace();
        let name = words
            .next()
            .ok_or_else(|| Error::BadRequest("$orderby has an empty item".into()))?;
        let prop = prop_named(name).ok_or_else(|| {
            Error::BadRequest(format!(
                "$orderby names the unknown property '{name}'; properties are: {}",
                prop_names()
            ))
        })?;
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(Error::BadRequest(format!(
                    "$orderby: '{other}' after '{name}' is neither asc nor desc"
                )));
            }
        };
        if let Some(extra) = words.next() {
            return Err(Error::BadRequest(format!(
                "$orderby: unexpected '{extra}'; separate keys with commas"
            )));
        }
        out.push((prop, desc));
    }
    Ok(out)
}

// ------------------------------------------------------------------------- $filter

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Int(i64),
    Date(OffsetDateTime),
    Open,
    Close,
    Comma,
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!("$filter: {msg}"))
}

fn tokenize(s: &str) -> Result<Vec<Tok>, Error> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        let Some(c) = rest.chars().next() else {
            return Ok(out);
        };
        match c {
            '(' => {
                out.push(Tok::Open);
                rest = &rest[1..];
            }
            ')' => {
                out.push(Tok::Close);
                rest = &rest[1..];
            }
            ',' => {
                out.push(Tok::Comma);
                rest = &rest[1..];
            }
            '\'' => {
                let s = super::keys::quoted(&mut rest)
                    .ok_or_else(|| bad("a string literal is not closed with '"))?;
                out.push(Tok::Str(s));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let end = rest
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '+'))
                    })
                    .unwrap_or(rest.len());
                let lit = &rest[..end];
                rest = &rest[end..];
                if let Ok(n) = lit.parse::<i64>() {
                    out.push(Tok::Int(n));
                } else if let Ok(d) = OffsetDateTime::parse(lit, &Rfc3339) {
                    out.push(Tok::Date(d));
                } else {
                    return Err(bad(format!(
                        "'{lit}' is neither a whole number nor a date-time such as 2024-01-31T00:00:00Z"
                    )));
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                out.push(Tok::Word(rest[..end].to_owned()));
                rest = &rest[end..];
            }
            other => return Err(bad(format!("unexpected character '{other}'"))),
        }
    }
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    terms: usize,
    depth: usize,
}

/// Parses a `$filter` expression.
pub(crate) fn parse_filter(s: &str) -> Result<Expr, Error> {
    if s.len() > MAX_FILTER_BYTES {
        return Err(bad(format!(
            "the expression is longer than {MAX_FILTER_BYTES} bytes; narrow it or filter in several requests"
        )));
    }
    let toks = tokenize(s)?;
    let mut p = Parser {
        toks,
        at: 0,
        terms: 0,
        depth: 0,
    };
    let e = p.or()?;
    if let Some(t) = p.toks.get(p.at) {
        return Err(bad(format!("unexpected {} after the expression", show(t))));
    }
    Ok(e)
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Str(s) => format!("the string '{s}'"),
        Tok::Int(n) => format!("the number {n}"),
        Tok::Date(_) => "a date-time".into(),
        Tok::Open => "'('".into(),
        Tok::Close => "')'".into(),
        Tok::Comma => "','".into(),
    }
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.at), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), Error> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(bad(format!("expected {what}, found {}", show(&t)))),
            None => Err(bad(format!("expected {what} at the end"))),
        }
    }

    fn term(&mut self) -> Result<(), Error> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(bad(format!(
                "more than {MAX_TERMS} terms; narrow the expression or filter in several requests"
            )));
        }
        Ok(())
    }

    fn deeper(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(bad(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, Error> {
        let mut e = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, Error> {
        let mut e = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        if self.peek_word("not") {
            self.at += 1;
            self.deeper()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if self.toks.get(self.at) == Some(&Tok::Open) {
            self.at += 1;
            self.deeper()?;
            let e = self.or()?;
            self.depth -= 1;
            self.expect(Tok::Close, "')'")?;
            return Ok(e);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, Error> {
        self.term()?;
        // A boolean function call.
        if let Some(Tok::Word(w)) = self.toks.get(self.at).cloned()
            && self.toks.get(self.at + 1) == Some(&Tok::Open)
        {
            let f = match w.to_ascii_lowercase().as_str() {
                "contains" => Some(StrFn::Contains),
                "startswith" => Some(StrFn::StartsWith),
                "endswith" => Some(StrFn::EndsWith),
                _ => None,
            };
            if let Some(f) = f {
                self.at += 2;
                let a = self.operand()?;
                self.expect(Tok::Comma, "',' between the arguments")?;
                let b = self.operand()?;
                self.expect(Tok::Close, "')'")?;
                for x in [&a, &b] {
                    if !matches!(x.ty(), Ty::Str) {
                        return Err(bad(format!("{w} takes two strings")));
                    }
                }
                return Ok(Expr::Str(f, a, b));
            }
        }
        let left = self.operand()?;
        let op = match self.toks.get(self.at) {
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "eq" => Some(CmpOp::Eq),
                "ne" => Some(CmpOp::Ne),
                "gt" => Some(CmpOp::Gt),
                "ge" => Some(CmpOp::Ge),
                "lt" => Some(CmpOp::Lt),
                "le" => Some(CmpOp::Le),
                _ => None,
            },
            _ => None,
        };
        let Some(op) = op else {
            if left.ty() == Ty::Bool {
                return Ok(Expr::Bool(left));
            }
            return Err(match self.toks.get(self.at) {
                Some(t) => bad(format!(
                    "expected a comparison (eq, ne, gt, ge, lt, le), found {}",
                    show(t)
                )),
                None => bad("expected a comparison (eq, ne, gt, ge, lt, le) at the end"),
            });
        };
        self.at += 1;
        let right = self.operand()?;
        let (lt, rt) = (left.ty(), right.ty());
        if lt != rt && lt != Ty::Null && rt != Ty::Null {
            return Err(bad(format!(
                "cannot compare a {} with a {}",
                ty_name(lt),
                ty_name(rt)
            )));
        }
        Ok(Expr::Cmp(op, left, right))
    }

    fn operand(&mut self) -> Result<Operand, Error> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Operand::Lit(Val::Str(s))),
            Some(Tok::Int(n)) => Ok(Operand::Lit(Val::Int(n))),
            Some(Tok::Date(d)) => Ok(Operand::Lit(Val::Date(d))),
            Some(Tok::Word(w)) => {
                let lower = w.to_ascii_lowercase();
                if self.toks.get(self.at) == Some(&Tok::Open) {
                    self.at += 1;
                    let wrap: fn(Box<Operand>) -> Operand = match lower.as_str() {
                        "tolower" => Operand::Lower,
                        "toupper" => Operand::Upper,
                        "contains" | "startswith" | "endswith" => {
                            return Err(bad(format!("{w}(...) is a condition, not a value")));
                        }
                        _ => {
                            return Err(bad(format!(
                                "unknown function '{w}'; the functions are contains, startswith, endswith, tolower and toupper"
                            )));
                        }
                    };
                    self.deeper()?;
                    let inner = self.operand()?;
                    self.depth -= 1;
                    self.expect(Tok::Close, "')'")?;
                    if inner.ty() != Ty::Str {
                        return Err(bad(format!("{w} takes a string")));
                    }
                    return Ok(wrap(Box::new(inner)));
                }
                match lower.as_str() {
                    "true" => Ok(Operand::Lit(Val::Bool(true))),
                    "false" => Ok(Operand::Lit(Val::Bool(false))),
                    "null" => Ok(Operand::Lit(Val::Null)),
                    _ => prop_named(&w).map(Operand::Prop).ok_or_else(|| {
                        bad(format!(
                            "unknown property '{w}'; properties are: {}",
                            prop_names()
                        ))
                    }),
                }
            }
            Some(t) => Err(bad(format!("expected a value, found {}", show(&t)))),
            None => Err(bad("expected a value at the end")),
        }
    }
}

fn ty_name(t: Ty) -> &'static str {
    match t {
        Ty::Str => "string",
        Ty::Int => "number",
        Ty::Bool => "boolean",
        Ty::Date => "date-time",
        Ty::Null => "null",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::{ItemPath, ItemType};

    fn item(path: &str, t: ItemType, size: i64, hidden: bool) -> CatalogItem {
        let p = ItemPath::parse(path).unwrap();
        CatalogItem {
            id: uuid::Uuid::new_v4(),
            name: p.name().to_owned(),
            path: p,
            item_type: t,
            size,
            mime_type: None,
            description: String::new(),
            hidden,
            created_by: "a".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            modified_by: "a".into(),
            modified_at: OffsetDateTime::UNIX_EPOCH + time::Duration::days(size),
        }
    }

    #[test]
    fn filters_evaluate() {
        let r = item("/Sales/Q1", ItemType::Report, 10, false);
        let f = |s: &str| parse_filter(s).unwrap().matches(&r);
        assert!(f("Type eq 'Report' and Size gt 5"));
        assert!(!f("Type eq 'Report' and not (Size ge 10)"));
        assert!(f("contains(tolower(Path),'sales') or Hidden"));
        assert!(f("startswith(Name,'Q') and endswith(Path,'1')"));
        assert!(f("Description eq null and Hidden eq false"));
        assert!(f("ModifiedDate gt 1970-01-05T00:00:00Z"));
        assert!(!f("Hidden"));
    }

    #[test]
    fn bad_filters_name_the_problem() {
        let e = |s: &str| parse_filter(s).unwrap_err().to_string();
        assert!(e("substringof('a',Name)").contains("unknown function 'substringof'"));
        assert!(e("Nme eq 'a'").contains("unknown property 'Nme'"));
        assert!(e("Size eq 'a'").contains("cannot compare a number with a string"));
        assert!(e("Name eq").contains("expected a value"));
        assert!(e("(Name eq 'a'").contains("')'"));
        assert!(e("Name eq 'a").contains("not closed"));
        let many = vec!["Name eq 'x'"; MAX_TERMS + 1].join(" or ");
        assert!(e(&many).contains("more than"));
        let huge = vec!["Size eq 1"; 10_000].join(" or ");
        assert!(e(&huge).contains("longer than"));
        let compact = vec!["Hidden"; 1_000].join(" or ");
        assert!(e(&compact).contains("more than"));
        let deep = format!("{}Hidden{}", "(".repeat(40), ")".repeat(40));
        assert!(e(&deep).contains("nested"));
    }

    #[test]
    fn options_parse_and_refuse_unknowns() {
        let o = parse(Some(
            "$top=2&skip=1&$COUNT=true&$orderby=Type%20desc,Name&@path='%2Fa'",
        ))
        .unwrap();
        assert_eq!((o.top, o.skip, o.count), (Some(2), 1, true));
        assert_eq!(o.orderby, vec![(Prop::Type, true), (Prop::Name, false)]);
        assert_eq!(o.alias("path").as_deref(), Some("'/a'"));
        assert!(
            parse(Some("$frobnicate=1"))
                .unwrap_err()
                .to_string()
                .contains("$frobnicate")
        );
        assert!(parse(Some("$top=-1")).is_err());
        assert!(
            parse(Some("$top=1&top=2"))
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(parse(Some("$select=Nope")).is_err());
        assert!(parse(Some("$expand=Subscriptions")).is_err());
        assert_eq!(
            parse(Some("$expand=properties,Policies,datasources"))
                .unwrap()
                .expand,
            [Expand::Properties, Expand::Policies, Expand::DataSources]
        );
        assert!(parse(Some("$top=1")).unwrap().for_entity().is_err());
    }
}
