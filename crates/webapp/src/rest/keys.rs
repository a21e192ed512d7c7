//! Addressing: what a REST URL names, parsed from the decoded resource path.
//!
//! `Set`, `Set(key)`, `Set(key)/Nav/...` and `Set/Model.Action`, where the key is a GUID
//! (`CatalogItems(0b2...)`), a path (`(Path='/a/b')`, any case of `Path`, quotes doubled
//! inside) or a parameter alias (`CatalogItemByPath(path=@path)?@path='...'`). Function
//! segments carry one quoted argument (`Model.SearchItems(searchText='x')`). Names are
//! matched case-insensitively by the dispatcher; this module only splits and decodes.
//!
//! Pure: no I/O, no catalog. Every refusal is a [`Error::BadRequest`] naming what is wrong.

use catalog::ItemPath;
use uuid::Uuid;

use crate::Error;

/// Longest resource path (after `api/v2.0/`) accepted, in bytes.
const MAX_RESOURCE: usize = 8 * 1024;

/// How an item is named in a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Id(Uuid),
    Path(ItemPath),
}

/// One navigation segment: its name and, for a function, its argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub name: String,
    pub arg: Option<String>,
}

/// A parsed resource path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    /// The entity set or singleton as spelled in the URL.
    pub set: String,
    pub key: Option<Key>,
    pub nav: Vec<Segment>,
}

/// Parses `resource` (percent-decoded, without the `api/v2.0/` prefix); `alias` resolves
/// `@name` parameter aliases from the query string.
pub(crate) fn parse(
    resource: &str,
    alias: &dyn Fn(&str) -> Option<String>,
) -> Result<Address, Error> {
    if resource.len() > MAX_RESOURCE {
        return Err(Error::BadRequest(format!(
            "the resource path is longer than {MAX_RESOURCE} bytes"
        )));
    }
    if resource.contains('\0') {
        return Err(Error::BadRequest(
            "the resource path contains a NUL character".into(),
        ));
    }
    let mut rest = resource;
    let set = ident(&mut rest);
    if set.is_empty() {
        return Err(Error::NotFound(format!("api/v2.0/{resource}")));
    }
    let key = if let Some(r) = rest.strip_prefix('(') {
        rest = r;
        let key = parse_key(&mut rest, alias)?;
        rest = rest.strip_prefix(')').ok_or_else(|| {
            Error::BadRequest(format!(
                "the key of '{set}' is not closed with ')' (a path key is quoted: {set}(Path='/Folder/Item'), quotes doubled inside)"
            ))
        })?;
        Some(key)
    } else {
        None
    };
    let mut nav = Vec::new();
    while !rest.is_empty() {
        rest = rest.strip_prefix('/').ok_or_else(|| {
            Error::BadRequest(format!(
                "unexpected text '{}' in the resource path",
                shorten(rest)
            ))
        })?;
        if rest.is_empty() {
            break; // a trailing slash
        }
        let name = ident(&mut rest);
        if name.is_empty() {
            return Err(Error::BadRequest(format!(
                "unexpected text '{}' in the resource path",
                shorten(rest)
            )));
        }
        let arg = if let Some(r) = rest.strip_prefix('(') {
            rest = r;
            // `name='value'`: the parameter name is not checked, only its value is used.
            let eq = rest.find('=').ok_or_else(|| {
                Error::BadRequest(format!(
                    "the function {name} takes one argument: {name}(searchText='text')"
                ))
            })?;
            rest = &rest[eq + 1..];
            let v = quoted(&mut rest).ok_or_else(|| {
                Error::BadRequest(format!("the argument of {name} must be a quoted string"))
            })?;
            rest = rest.strip_prefix(')').ok_or_else(|| {
                Error::BadRequest(format!("the argument of {name} is not closed with ')'"))
            })?;
            Some(v)
        } else {
            None
        };
        nav.push(Segment {
            name: name.to_owned(),
            arg,
        });
    }
    Ok(Address {
        set: set.to_owned(),
        key,
        nav,
    })
}

/// Takes the longest prefix of name characters (`A-Z a-z 0-9 _ . $`).
fn ident<'a>(rest: &mut &'a str) -> &'a str {
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$')))
        .unwrap_or(rest.len());
    let (id, tail) = rest.split_at(end);
    *rest = tail;
    id
}

/// A single-quoted string with `''` for a quote; advances past the closing quote.
pub(crate) fn quoted(rest: &mut &str) -> Option<String> {
    let body = rest.strip_prefix('\'')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if body[i + 1..].starts_with('\'') {
                out.push('\'');
                chars.next();
            } else {
                *rest = &body[i + 1..];
                return Some(out);
            }
        } else {
            out.push(c);
        }
    }
    None
}

fn parse_key(rest: &mut &str, alias: &dyn Fn(&str) -> Option<String>) -> Result<Key, Error> {
    let lower_start: String = rest
        .chars()
        .take(5)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower_start == "path=" {
        *rest = &rest[5..];
        let text = if let Some(a) = rest.strip_prefix('@') {
            let mut r = a;
            let name = ident(&mut r);
            *rest = r;
            let raw = alias(name).ok_or_else(|| {
                Error::BadRequest(format!(
                    "the parameter alias @{name} has no value; add ?@{name}='/Folder/Item' to the URL"
                ))
            })?;
            let mut v = raw.as_str();
            let s = quoted(&mut v).ok_or_else(|| {
                Error::BadRequest(format!(
                    "the value of @{name} must be a quoted path: @{name}='/Folder/Item'"
                ))
            })?;
            if !v.is_empty() {
                return Err(Error::BadRequest(format!(
                    "unexpected text after the value of @{name}"
                )));
            }
            s
        } else {
            quoted(rest).ok_or_else(|| {
                Error::BadRequest(
                    "the Path key must be a quoted string: (Path='/Folder/Item'), quotes doubled inside".into(),
                )
            })?
        };
        return ItemPath::parse(&text)
            .map(Key::Path)
            .map_err(|e| Error::BadRequest(format!("invalid item path in the key: {e}")));
    }
    let end = rest.find(')').unwrap_or(rest.len());
    let raw = &rest[..end];
    let id = Uuid::try_parse(raw.trim()).map_err(|_| {
        Error::BadRequest(format!(
            "the key ({}) is neither a GUID nor a path; use (01234567-89ab-cdef-0123-456789abcdef) or (Path='/Folder/Item')",
            shorten(raw)
        ))
    })?;
    *rest = &rest[end..];
    Ok(Key::Id(id))
}

/// At most 60 characters of `s`, for error messages.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_alias(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn keys_by_guid_path_and_alias() {
        let a = parse("Folders(Path='/a')/CatalogItems", &no_alias).unwrap();
        assert_eq!(a.set, "Folders");
        assert_eq!(a.key, Some(Key::Path(ItemPath::parse("/a").unwrap())));
        assert_eq!(a.nav[0].name, "CatalogItems");
        let a = parse("catalogitems(path='/O''Brien/x(1)')", &no_alias).unwrap();
        assert_eq!(
            a.key,
            Some(Key::Path(ItemPath::parse("/O'Brien/x(1)").unwrap()))
        );
        let id = "0b2f6a8e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
        let a = parse(&format!("CatalogItems({id})/Content/$value"), &no_alias).unwrap();
        assert_eq!(a.key, Some(Key::Id(Uuid::parse_str(id).unwrap())));
        assert_eq!(a.nav.len(), 2);
        assert_eq!(a.nav[1].name, "$value");
        let alias = |n: &str| (n == "path").then(|| "'/A B'".to_owned());
        let a = parse("CatalogItemByPath(path=@path)", &alias).unwrap();
        assert_eq!(a.key, Some(Key::Path(ItemPath::parse("/A B").unwrap())));
        let a = parse(
            "Folders(Path='/')/Model.SearchItems(searchText='it''s')",
            &no_alias,
        )
        .unwrap();
        assert_eq!(a.nav[0].arg.as_deref(), Some("it's"));
        assert_eq!(parse("Me/", &no_alias).unwrap().nav, vec![]);
    }

    #[test]
    fn bad_keys_name_the_problem() {
        let msg = |s: &str| parse(s, &no_alias).unwrap_err().to_string();
        assert!(msg("CatalogItems(42)").contains("neither a GUID nor a path"));
        assert!(msg("CatalogItems(Path='/../x')").contains("invalid item path"));
        assert!(msg("CatalogItems(Path=/x)").contains("quoted"));
        assert!(msg("CatalogItems(Path='/x'").contains("not closed"));
        assert!(msg("CatalogItems(Path='/x\0')").contains("NUL"));
        assert!(msg("CatalogItemByPath(path=@path)").contains("@path"));
        assert!(msg("CatalogItems(Path='/x')junk").contains("unexpected"));
    }
}
