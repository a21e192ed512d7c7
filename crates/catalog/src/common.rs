//! What the SQLite and PostgreSQL implementations share: input checks, the text encoding
//! of roles, row types, ordering, and the classification of an existing database.
//!
//! Pure functions only: no SQL is run here, so the two backends stay free to write the SQL
//! their database wants, while agreeing on every rule a user can observe.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{CatalogItem, Error, ItemPath, ItemType, NewItem, Policy, Result, Role, User};

/// Longest user name, in characters.
pub(crate) const MAX_USER_NAME_CHARS: usize = 256;
/// Longest item description, in characters (SSRS allows 512; a little room for more).
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 4096;
/// Longest MIME type (RFC 6838 caps the parts at 127 each).
pub(crate) const MAX_MIME_CHARS: usize = 255;

/// The table whose presence marks a database as a reportd catalog; it records the applied
/// migrations.
pub(crate) const SCHEMA_TABLE: &str = "reportd_schema";

/// Now, truncated to microseconds: PostgreSQL stores microseconds, and an item returned by a
/// write must equal the same item read back, on both backends.
pub(crate) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    // Invariant: the value is below 1e9 because nanosecond() is, so it is accepted.
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}

/// The stored token of a role (stable; never the display name, which may be translated).
pub(crate) fn role_token(r: Role) -> &'static str {
    match r {
        Role::SystemAdministrator => "SystemAdministrator",
        Role::SystemUser => "SystemUser",
        Role::ContentManager => "ContentManager",
        Role::Publisher => "Publisher",
        Role::Browser => "Browser",
    }
}

pub(crate) fn parse_role_token(s: &str) -> Result<Role> {
    Role::ALL
        .into_iter()
        .find(|r| role_token(*r) == s)
        .ok_or_else(|| Error::Db(format!("unknown role {s:?} stored in the catalog")))
}

/// System roles as stored in the users table: tokens joined by ','.
pub(crate) fn roles_to_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| role_token(*r))
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn roles_from_text(s: &str) -> Result<Vec<Role>> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(parse_role_token)
        .collect()
}

/// Sorted, without duplicates.
fn canonical_roles(roles: &[Role]) -> Vec<Role> {
    let mut v = roles.to_vec();
    v.sort();
    v.dedup();
    v
}

/// The case-insensitive key of a user name.
pub(crate) fn user_key(name: &str) -> String {
    name.to_lowercase()
}

/// Checks a user name: not empty, no ':' (HTTP Basic splits on it), no control characters,
/// no leading/trailing white space, bounded length.
pub(crate) fn check_user_name(name: &str) -> Result<()> {
    let bad = |what: &str| {
        Err(Error::Invalid(format!(
            "the user name {} {what}",
            quote(name)
        )))
    };
    if name.is_empty() {
        return Err(Error::Invalid("the user name is empty; give a name".into()));
    }
    if name.contains(':') {
        return bad(
            "contains ':', which HTTP Basic sign-in cannot carry; choose a name without ':'",
        );
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return bad(&format!(
            "contains the control character U+{:04X}; remove it",
            c as u32
        ));
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return bad("starts or ends with white space; remove the spaces");
    }
    if name.chars().count() > MAX_USER_NAME_CHARS {
        return bad(&format!(
            "is too long; user names are at most {MAX_USER_NAME_CHARS} characters"
        ));
    }
    Ok(())
}

/// Checks the system roles of a user: only System Administrator / System User.
pub(crate) fn check_system_roles(roles: &[Role]) -> Result<Vec<Role>> {
    if let Some(r) = roles.iter().find(|r| !r.is_system()) {
        return Err(Error::Invalid(format!(
            "'{r}' is an item role, not a system role; assign it on a folder (for example /) instead"
        )));
    }
    Ok(canonical_roles(roles))
}

/// Checks a password hash before it is stored: it must be a PHC string, so that a plaintext
/// password can never be stored by mistake.
pub(crate) fn check_password_hash(hash: &str) -> Result<()> {
    if crate::password::is_phc(hash) {
        Ok(())
    } else {
        Err(Error::Invalid(
            "the password hash is not an argon2 PHC string; hash the password with catalog::password::hash".into(),
        ))
    }
}

/// Checks free text (descriptions, user names in `by`): bounded, no NUL (PostgreSQL text
/// cannot hold it).
pub(crate) fn check_text(what: &str, value: &str, max_chars: usize) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::Invalid(format!(
            "the {what} contains a NUL character; remove it"
        )));
    }
    if value.chars().count() > max_chars {
        return Err(Error::Invalid(format!(
            "the {what} is too long; it may hold at most {max_chars} characters"
        )));
    }
    Ok(())
}

/// Checks what `put_item` is given.
pub(crate) fn check_new_item(new: &NewItem<'_>) -> Result<()> {
    if new.path.is_root() {
        return Err(Error::Root);
    }
    if new.item_type == ItemType::Folder {
        return Err(Error::Invalid(format!(
            "'{}' cannot be stored as a folder with put_item; create folders with create_folder (catalog mkdir)",
            new.path
        )));
    }
    check_text("description", new.description, MAX_DESCRIPTION_CHARS)?;
    check_text("user name", new.by, MAX_USER_NAME_CHARS)?;
    if let Some(m) = new.mime_type {
        check_text("MIME type", m, MAX_MIME_CHARS)?;
        if m.chars().any(|c| c.is_control()) {
            return Err(Error::Invalid(
                "the MIME type contains control characters".into(),
            ));
        }
    }
    Ok(())
}

/// Role assignments checked and flattened to rows `(user key, user name, role)`: item roles
/// only, valid user names, at least one role each. The same user named twice (in any case)
/// gets the union of the roles, under the first spelling.
pub(crate) fn flatten_policies(policies: &[Policy]) -> Result<Vec<(String, String, Role)>> {
    let mut merged: Vec<(String, String, Vec<Role>)> = Vec::new();
    for p in policies {
        check_user_name(&p.user)?;
        if p.roles.is_empty() {
            return Err(Error::Invalid(format!(
                "the role assignment for '{}' names no role; give at least one role or leave the user out",
                p.user
            )));
        }
        if let Some(r) = p.roles.iter().find(|r| r.is_system()) {
            return Err(Error::Invalid(format!(
                "'{r}' is a system role and cannot be assigned on an item; use `reportctl user add --role` for system roles"
            )));
        }
        let key = user_key(&p.user);
        match merged.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, roles)) => roles.extend_from_slice(&p.roles),
            None => merged.push((key, p.user.clone(), p.roles.clone())),
        }
    }
    let mut rows = Vec::new();
    for (key, name, roles) in merged {
        for r in canonical_roles(&roles) {
            rows.push((key.clone(), name.clone(), r));
        }
    }
    Ok(rows)
}

/// Groups rows `(user name, role token)`, already ordered by user key, into policies.
pub(crate) fn group_policies(rows: Vec<(String, String)>) -> Result<Vec<Policy>> {
    let mut out: Vec<Policy> = Vec::new();
    for (user, token) in rows {
        let role = parse_role_token(&token)?;
        match out.last_mut() {
            Some(last) if user_key(&last.user) == user_key(&user) => last.roles.push(role),
            _ => out.push(Policy {
                user,
                roles: vec![role],
            }),
        }
    }
    for p in &mut out {
        p.roles = canonical_roles(&p.roles);
    }
    out.sort_by_key(|p| user_key(&p.user));
    Ok(out)
}

/// Item roles from role tokens, sorted and deduplicated.
pub(crate) fn roles_from_tokens(tokens: Vec<String>) -> Result<Vec<Role>> {
    let roles = tokens
        .iter()
        .map(|t| parse_role_token(t))
        .collect::<Result<Vec<_>>>()?;
    Ok(canonical_roles(&roles))
}

/// Folders first, then by name, case-insensitively (the same on both backends, whatever
/// the database collation).
pub(crate) fn sort_children(items: &mut [CatalogItem]) {
    items.sort_by_cached_key(|i| {
        (
            i.item_type != ItemType::Folder,
            i.name.to_lowercase(),
            i.name.clone(),
        )
    });
}

/// One row of the items table (content excluded). Decodes on both backends.
#[derive(sqlx::FromRow)]
pub(crate) struct ItemRow {
    pub id: Uuid,
    pub path: String,
    pub item_type: String,
    pub size: i64,
    pub mime_type: Option<String>,
    pub description: String,
    pub hidden: bool,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub modified_by: String,
    pub modified_at: OffsetDateTime,
}

/// The columns of [`ItemRow`], in a SELECT list (unqualified).
pub(crate) const ITEM_COLUMNS: &str = "id, path, item_type, size, mime_type, description, hidden, \
     created_by, created_at, modified_by, modified_at";

impl ItemRow {
    pub(crate) fn into_item(self) -> Result<CatalogItem> {
        // A stored path was valid when written; re-parsing guards against a hand-edited
        // database rather than trusting it.
        let path = ItemPath::parse(&self.path)
            .map_err(|e| Error::Db(format!("the catalog holds an invalid path: {e}")))?;
        Ok(CatalogItem {
            id: self.id,
            name: path.name().to_owned(),
            path,
            item_type: self.item_type.parse()?,
            size: self.size,
            mime_type: self.mime_type,
            description: self.description,
            hidden: self.hidden,
            created_by: self.created_by,
            created_at: self.created_at,
            modified_by: self.modified_by,
            modified_at: self.modified_at,
        })
    }
}

/// One row of the users table.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub name: String,
    pub password_hash: String,
    pub system_roles: String,
    pub created_at: OffsetDateTime,
}

/// The columns of [`UserRow`].
pub(crate) const USER_COLUMNS: &str = "name, password_hash, system_roles, created_at";

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User> {
        Ok(User {
            system_roles: roles_from_text(&self.system_roles)?,
            name: self.name,
            password_hash: self.password_hash,
            created_at: self.created_at,
        })
    }
}

/// What an existing database holds, judged by its table names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Contents {
    /// No tables at all: a catalog may be created in it.
    Empty,
    /// A reportd catalog (the schema table exists).
    Catalog,
    /// Tables of something else (names, for the message).
    Foreign(Vec<String>),
}

/// Classifies a database from its user tables (`has_schema_table`: the marker table is
/// among them, in the schema the catalog would use).
pub(crate) fn classify(tables: Vec<String>, has_schema_table: bool) -> Contents {
    if has_schema_table {
        Contents::Catalog
    } else if tables.is_empty() {
        Contents::Empty
    } else {
        Contents::Foreign(tables)
    }
}

/// "a, b, c and 4 more".
pub(crate) fn list_some(names: &[String]) -> String {
    const SHOW: usize = 5;
    let shown: Vec<&str> = names.iter().take(SHOW).map(String::as_str).collect();
    let mut s = shown.join(", ");
    if names.len() > SHOW {
        s.push_str(&format!(" and {} more", names.len() - SHOW));
    }
    s
}

/// Quotes user input for a message: escaped and cut.
pub(crate) fn quote(s: &str) -> String {
    const SHOW: usize = 80;
    if s.chars().count() <= SHOW {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(SHOW).collect();
        format!("{head:?}…")
    }
}

/// A fresh item id.
pub(crate) fn new_id() -> Uuid {
    Uuid::new_v4()
}

/// The new path of each `(id, stored path)` at or below `from` when `from` moves to `to`:
/// `to` joined with the segments below `from`, each checked as a new path is.
pub(crate) fn moved_paths(
    from: &ItemPath,
    to: &ItemPath,
    rows: &[(Uuid, String)],
) -> Result<Vec<(Uuid, ItemPath)>> {
    if to.key().starts_with(&format!("{}/", from.key())) {
        return Err(Error::Invalid(format!(
            "'{from}' cannot move to '{to}', which is below itself; choose a folder elsewhere"
        )));
    }
    let depth = from.depth();
    rows.iter()
        .map(|(id, stored)| {
            let old = ItemPath::parse(stored)
                .map_err(|e| Error::Db(format!("the catalog holds an invalid path: {e}")))?;
            let mut new = to.clone();
            for seg in old.segments().skip(depth) {
                new = new.join(seg)?;
            }
            Ok((*id, new))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_text_roundtrip() {
        let roles = [Role::SystemAdministrator, Role::SystemUser];
        assert_eq!(roles_to_text(&roles), "SystemAdministrator,SystemUser");
        assert_eq!(
            roles_from_text("SystemAdministrator,SystemUser").unwrap(),
            roles
        );
        assert_eq!(roles_from_text("").unwrap(), []);
        assert!(roles_from_text("Root").is_err());
    }

    #[test]
    fn policies_merge_case_insensitively_and_refuse_system_roles() {
        let rows = flatten_policies(&[
            Policy {
                user: "Alice".into(),
                roles: vec![Role::Publisher],
            },
            Policy {
                user: "alice".into(),
                roles: vec![Role::Browser, Role::Publisher],
            },
        ])
        .unwrap();
        assert_eq!(
            rows,
            [
                ("alice".to_owned(), "Alice".to_owned(), Role::Publisher),
                ("alice".to_owned(), "Alice".to_owned(), Role::Browser),
            ]
        );
        let e = flatten_policies(&[Policy {
            user: "a".into(),
            roles: vec![Role::SystemUser],
        }]);
        assert!(matches!(e, Err(Error::Invalid(m)) if m.contains("system role")));
        let e = flatten_policies(&[Policy {
            user: "a".into(),
            roles: vec![],
        }]);
        assert!(matches!(e, Err(Error::Invalid(m)) if m.contains("no role")));
    }

    #[test]
    fn user_names() {
        check_user_name("Jane Doe").unwrap();
        check_user_name("DOMAIN\\jane").unwrap();
        assert!(check_user_name("").is_err());
        assert!(check_user_name("a:b").is_err());
        assert!(check_user_name("a\nb").is_err());
        assert!(check_user_name(" a").is_err());
        assert!(check_user_name(&"u".repeat(257)).is_err());
    }
}
