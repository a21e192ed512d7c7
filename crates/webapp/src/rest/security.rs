//! Item and system security and properties of the REST API: `…/Policies` (item role
//! assignments, `InheritParentPolicy`), `System/Policies` (system roles), `…/Properties`
//! (Name/Value pairs), `…/AllowedActions` and `System/Properties`.
//!
//! Reads and writes go through the catalog's policy, user and property operations
//! (`get_policies`/`set_policies`, `set_system_roles`, `set_properties`); every request is
//! checked (Content Manager for item policies, System Administrator for system policies,
//! Write for properties) and every body validated as a whole before anything changes. Must
//! not write error bodies nor parse URLs.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use catalog::{CatalogItem, ItemPath, ItemType, Permission, Policy, Role};
use http::StatusCode;
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use super::items::{Call, finish_properties, json_ok, read_json_value, resolve};
use crate::Error;

/// Most role assignments one PUT of policies takes.
const MAX_POLICIES: usize = 1000;

/// A short description of a role, as the `Roles[].Description` of a policy.
fn role_description(r: Role) -> &'static str {
    match r {
        Role::SystemAdministrator => {
            "May change site settings, users and system role assignments, and do everything on every item."
        }
        Role::SystemUser => "May view the site settings.",
        Role::ContentManager => {
            "May manage content and the role assignments of the items it is assigned on."
        }
        Role::Publisher => "May add, change and delete items.",
        Role::Browser => "May view folders and items and run reports.",
    }
}

fn policy_json(p: &Policy) -> Value {
    let roles: Vec<Value> = p
        .roles
        .iter()
        .map(|r| json!({"Name": r.name(), "Description": role_description(*r)}))
        .collect();
    json!({"GroupUserName": p.user, "Roles": roles})
}

/// The policies in force on `path`: its own, or the nearest ancestor's (then inherited).
async fn effective_policies(c: &Call<'_>, path: &ItemPath) -> Result<(bool, Vec<Policy>), Error> {
    if let Some(own) = c.session.catalog.get_policies(path).await? {
        return Ok((false, own));
    }
    let mut at = path.parent();
    while let Some(p) = at {
        if let Some(own) = c.session.catalog.get_policies(&p).await? {
            return Ok((true, own));
        }
        at = p.parent();
    }
    Ok((true, Vec::new()))
}

fn item_policy_json(c: &Call<'_>, item: &CatalogItem, inherit: bool, list: &[Policy]) -> Value {
    json!({
        "@odata.context": format!("{}/$metadata#Model.ItemPolicy", c.api_base),
        "Id": item.id,
        "InheritParentPolicy": inherit,
        "Policies": list.iter().map(policy_json).collect::<Vec<_>>(),
    })
}

/// The policies in force on `item` as `$expand=Policies` shows them (the caller checked
/// ManageSecurity).
pub(super) async fn expanded_policies(c: &Call<'_>, item: &CatalogItem) -> Result<Value, Error> {
    let (_inherit, list) = effective_policies(c, &item.path).await?;
    Ok(Value::Array(list.iter().map(policy_json).collect()))
}

/// `GET Set(key)/Policies`.
pub(super) async fn policies(c: &Call<'_>) -> Result<Response, Error> {
    let item = resolve(c, Permission::ManageSecurity).await?;
    let (inherit, list) = effective_policies(c, &item.path).await?;
    Ok(json_ok(item_policy_json(c, &item, inherit, &list)))
}

/// A field of `body` by name, any case.
fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// The `Policies` array of a body: users and the roles named, each role checked with
/// `allowed` (item roles or system roles), each user known to the catalog.
async fn parse_policies(
    c: &Call<'_>,
    body: &Map<String, Value>,
    system: bool,
) -> Result<Vec<Policy>, Error> {
    let list = match field(body, "Policies") {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "Policies must be an array of {{\"GroupUserName\": ..., \"Roles\": [{{\"Name\": ...}}]}}, not {}",
                shorten(&other.to_string())
            )));
        }
    };
    if list.len() > MAX_POLICIES {
        return Err(Error::BadRequest(format!(
            "Policies has more than {MAX_POLICIES} entries"
        )));
    }
    let mut out: Vec<Policy> = Vec::new();
    for p in list {
        let Value::Object(p) = p else {
            return Err(Error::BadRequest(format!(
                "Policies holds {}, which is not an object with GroupUserName and Roles",
                shorten(&p.to_string())
            )));
        };
        let user = match field(p, "GroupUserName") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => {
                return Err(Error::BadRequest(
                    "every entry of Policies needs a GroupUserName (a user of this report server)"
                        .into(),
                ));
            }
        };
        let Some(known) = c.session.catalog.get_user(&user).await? else {
            return Err(Error::BadRequest(format!(
                "GroupUserName '{user}' is not a user of this report server (groups are not offered); add the user first with `reportctl user add`"
            )));
        };
        let roles = match field(p, "Roles") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(Error::BadRequest(format!(
                    "the policy of '{user}' needs Roles: [{{\"Name\": \"Browser\"}}, ...]"
                )));
            }
        };
        let mut parsed = Vec::new();
        for r in roles {
            let name = match r {
                // "RoleName" is what some Python clients send.
                Value::Object(o) => match field(o, "Name").or_else(|| field(o, "RoleName")) {
                    Some(Value::String(s)) => s.as_str(),
                    _ => "",
                },
                Value::String(s) => s.as_str(),
                _ => "",
            };
            let role: Role = name.parse().map_err(|_| {
                Error::BadRequest(format!(
                    "the policy of '{user}' names the role '{name}', which this report server does not have; {}",
                    if system {
                        "system roles are System Administrator and System User"
                    } else {
                        "item roles are Browser, Publisher and Content Manager"
                    }
                ))
            })?;
            if role.is_system() != system {
                return Err(Error::BadRequest(format!(
                    "'{}' is a {} role and cannot be assigned {}",
                    role.name(),
                    if role.is_system() { "system" } else { "item" },
                    if system {
                        "in System/Policies; assign it on an item"
                    } else {
                        "on an item; assign it in System/Policies"
                    }
                )));
            }
            if !parsed.contains(&role) {
                parsed.push(role);
            }
        }
        if parsed.is_empty() && !system {
            return Err(Error::BadRequest(format!(
                "the policy of '{user}' has no roles; leave the user out to take their roles away"
            )));
        }
        match out
            .iter_mut()
            .find(|o| o.user.eq_ignore_ascii_case(&known.name))
        {
            Some(o) => {
                for r in parsed {
                    if !o.roles.contains(&r) {
                        o.roles.push(r);
                    }
                }
            }
            None => out.push(Policy {
                user: known.name,
                roles: parsed,
            }),
        }
    }
    Ok(out)
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// The body of a PUT of policies: one object, or (as the swagger writes it) an array
/// holding one object.
fn one_object(v: Value, what: &str) -> Result<Map<String, Value>, Error> {
    match v {
        Value::Object(m) => Ok(m),
        Value::Array(mut a) if a.len() == 1 => match a.pop() {
            Some(Value::Object(m)) => Ok(m),
            _ => Err(Error::BadRequest(format!(
                "the request body must be {what}"
            ))),
        },
        _ => Err(Error::BadRequest(format!(
            "the request body must be {what}"
        ))),
    }
}

/// `PUT Set(key)/Policies {"InheritParentPolicy": false, "Policies": [...]}`.
pub(super) async fn set_policies(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    let item = resolve(c, Permission::ManageSecurity).await?;
    let (v, _share) = read_json_value(c, req).await?;
    let body = one_object(
        v,
        "an ItemPolicy object: {\"InheritParentPolicy\": false, \"Policies\": [{\"GroupUserName\": \"NAME\", \"Roles\": [{\"Name\": \"Browser\"}]}]}",
    )?;
    let inherit = match field(&body, "InheritParentPolicy") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "InheritParentPolicy must be true or false, not {}",
                shorten(&other.to_string())
            )));
        }
    };
    if inherit {
        if item.path.is_root() {
            return Err(Error::BadRequest(
                "the root folder has no parent to inherit from; send InheritParentPolicy false with its Policies".into(),
            ));
        }
        // Policies sent along must be the inherited ones: anything else would be dropped.
        if field(&body, "Policies").is_some() {
            let sent = parse_policies(c, &body, false).await?;
            let parent = item.path.parent().unwrap_or_else(ItemPath::root);
            let (_, inherited) = effective_policies(c, &parent).await?;
            if !sent.is_empty() && !same_policies(&sent, &inherited) {
                return Err(Error::BadRequest(
                    "InheritParentPolicy is true but Policies differ from the parent's; send InheritParentPolicy false to set these Policies, or no Policies (or the parent's) to inherit".into(),
                ));
            }
        }
        rest_users(c)
            .set_item_policies(&item.path, None)
            .await
            .map_err(rest_error)?;
    } else {
        let list = parse_policies(c, &body, false).await?;
        rest_users(c)
            .set_item_policies(&item.path, Some(&list))
            .await
            .map_err(rest_error)?;
    }
    c.state.catalog_changed();
    let (inherit, list) = effective_policies(c, &item.path).await?;
    Ok(json_ok(item_policy_json(c, &item, inherit, &list)))
}

/// The user operations of a REST change: the session's catalog, by the signed-in user
/// (`mgmt::users` logs it with the change).
fn rest_users<'a>(c: &'a Call<'_>) -> mgmt::users::Users<'a> {
    mgmt::users::Users {
        cat: &*c.session.catalog,
        dd: c.state.data_dir(),
        by: mgmt::users::Actor {
            name: &c.session.principal.name,
            front_end: mgmt::users::FrontEnd::Rest,
        },
    }
}

/// A refused role change as the REST API answers it: the catalog's refusals keep their
/// status, an invalid role is a 400 naming the Roles of the body.
fn rest_error(e: mgmt::Error) -> Error {
    match e {
        mgmt::Error::Catalog(c) => c.into(),
        e => Error::BadRequest(format!("{e}; correct the Roles of the Policies")),
    }
}

/// The same users with the same roles, in any order and case of names.
fn same_policies(a: &[Policy], b: &[Policy]) -> bool {
    let norm = |l: &[Policy]| {
        let mut v: Vec<(String, Vec<Role>)> = l
            .iter()
            .map(|p| {
                let mut r = p.roles.clone();
                r.sort();
                (p.user.to_lowercase(), r)
            })
            .collect();
        v.sort();
        v
    };
    norm(a) == norm(b)
}

fn require_admin(c: &Call<'_>, what: &str) -> Result<(), Error> {
    if c.session
        .principal
        .system_roles
        .contains(&Role::SystemAdministrator)
    {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "the permissions granted to user '{}' are insufficient to {what}; only a System Administrator may",
            c.session.principal.name
        )))
    }
}

fn system_policy_json(c: &Call<'_>, users: &[catalog::User]) -> Value {
    let list: Vec<Value> = users
        .iter()
        .filter(|u| !u.system_roles.is_empty())
        .map(|u| {
            policy_json(&Policy {
                user: u.name.clone(),
                roles: u.system_roles.clone(),
            })
        })
        .collect();
    json!({
        "@odata.context": format!("{}/$metadata#Model.SystemPolicy", c.api_base),
        "Id": uuid::Uuid::nil(),
        "InheritParentPolicy": false,
        "Policies": list,
    })
}

/// `GET System/Policies`.
pub(super) async fn system_policies(c: &Call<'_>) -> Result<Response, Error> {
    require_admin(c, "view the system role assignments")?;
    let users = c.session.catalog.list_users().await?;
    Ok(json_ok(system_policy_json(c, &users)))
}

/// `PUT System/Policies {"Policies": [...]}`: the system roles of every user; users not
/// listed lose theirs. Refused as a whole when it would leave no System Administrator.
pub(super) async fn set_system_policies(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    require_admin(c, "change the system role assignments")?;
    let (v, _share) = read_json_value(c, req).await?;
    let body = one_object(
        v,
        "a SystemPolicy object: {\"Policies\": [{\"GroupUserName\": \"NAME\", \"Roles\": [{\"Name\": \"System Administrator\"}]}]}",
    )?;
    let wanted = parse_policies(c, &body, true).await?;
    if !wanted
        .iter()
        .any(|p| p.roles.contains(&Role::SystemAdministrator))
    {
        return Err(Error::BadRequest(
            "these policies leave no System Administrator; keep at least one user with the System Administrator role".into(),
        ));
    }
    let users = c.session.catalog.list_users().await?;
    let roles_of = |name: &str| -> Vec<Role> {
        wanted
            .iter()
            .find(|p| p.user.eq_ignore_ascii_case(name))
            .map(|p| p.roles.clone())
            .unwrap_or_default()
    };
    // Grants first, so that the catalog never sees a moment without an administrator.
    let mut changes: Vec<(String, Vec<Role>)> = users
        .iter()
        .map(|u| (u.name.clone(), roles_of(&u.name)))
        .filter(|(name, roles)| {
            let had = &users
                .iter()
                .find(|u| &u.name == name)
                .map(|u| u.system_roles.clone())
                .unwrap_or_default();
            let mut a = had.clone();
            let mut b = roles.clone();
            a.sort();
            b.sort();
            a != b
        })
        .collect();
    changes.sort_by_key(|(_, roles)| !roles.contains(&Role::SystemAdministrator));
    for (name, roles) in &changes {
        rest_users(c)
            .set_system_roles(name, roles)
            .await
            .map_err(rest_error)?;
    }
    c.state.catalog_changed();
    let users = c.session.catalog.list_users().await?;
    Ok(json_ok(system_policy_json(c, &users)))
}

/// `GET CatalogItems(key)/Roles`: the item roles (an array, as the swagger has it).
pub(super) async fn roles(c: &Call<'_>) -> Result<Response, Error> {
    resolve(c, Permission::Read).await?;
    let roles: Vec<Value> = Role::ALL
        .into_iter()
        .filter(|r| !r.is_system())
        .map(|r| json!({"Name": r.name(), "Description": role_description(r)}))
        .collect();
    Ok(json_ok(Value::Array(roles)))
}

// -------------------------------------------------------------------------- properties

/// The properties of an item, as SSRS names them.
fn item_properties(item: &CatalogItem) -> Vec<(&'static str, String)> {
    let date = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    vec![
        ("ID", item.id.to_string()),
        ("Name", item.name.clone()),
        ("Path", item.path.to_string()),
        ("Type", super::Kind::of(item).name().to_owned()),
        ("Description", item.description.clone()),
        ("Hidden", item.hidden.to_string()),
        ("Size", item.size.to_string()),
        ("MimeType", item.mime_type.clone().unwrap_or_default()),
        ("CreatedBy", item.created_by.clone()),
        ("CreationDate", date(item.created_at)),
        ("ModifiedBy", item.modified_by.clone()),
        ("ModifiedDate", date(item.modified_at)),
    ]
}

/// `GET Set(key)/Properties[?properties=A,B]`.
pub(super) async fn properties(c: &Call<'_>) -> Result<Response, Error> {
    let item = resolve(c, Permission::Read).await?;
    let all = item_properties(&item);
    let picked: Vec<(&str, String)> = match &c.options.properties {
        None => all,
        Some(names) => {
            let mut out = Vec::new();
            for n in names {
                let Some(p) = all.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)) else {
                    return Err(Error::BadRequest(format!(
                        "properties names '{n}', which reportd does not keep (it stores no custom properties); the properties are {}",
                        all.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                    )));
                };
                out.push(p.clone());
            }
            out
        }
    };
    let value: Vec<Value> = picked
        .into_iter()
        .map(|(k, v)| json!({"Name": k, "Value": v}))
        .collect();
    Ok(json_ok(json!({
        "@odata.context": format!("{}/$metadata#Collection(Model.Property)", c.api_base),
        "value": value,
    })))
}

/// `PATCH Set(key)/Properties [{"Name": "Description", "Value": "..."}, ...]`: Description
/// and Hidden; every other name is refused before anything changes.
pub(super) async fn set_properties(c: &Call<'_>, req: Request) -> Result<Response, Error> {
    let item = resolve(c, Permission::Write).await?;
    let (v, _share) = read_json_value(c, req).await?;
    let list = match v {
        Value::Array(a) => a,
        Value::Object(m) => match field(&m, "value").or_else(|| field(&m, "Properties")) {
            Some(Value::Array(a)) => a.clone(),
            _ => {
                return Err(Error::BadRequest(
                    "the request body must be an array of {\"Name\": ..., \"Value\": ...}".into(),
                ));
            }
        },
        _ => {
            return Err(Error::BadRequest(
                "the request body must be an array of {\"Name\": ..., \"Value\": ...}".into(),
            ));
        }
    };
    let mut description: Option<String> = None;
    let mut hidden: Option<bool> = None;
    let names: Vec<&str> = item_properties(&item).iter().map(|(k, _)| *k).collect();
    for p in &list {
        let Value::Object(p) = p else {
            return Err(Error::BadRequest(format!(
                "the properties hold {}, which is not {{\"Name\": ..., \"Value\": ...}}",
                shorten(&p.to_string())
            )));
        };
        let name = match field(p, "Name") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(Error::BadRequest(
                    "every property needs a Name (a string)".into(),
                ));
            }
        };
        let value = match field(p, "Value") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(other) => {
                return Err(Error::BadRequest(format!(
                    "the Value of property '{name}' must be a string, not {}",
                    shorten(&other.to_string())
                )));
            }
        };
        if name.eq_ignore_ascii_case("Description") {
            catalog_text_ok(&value)?;
            description = Some(value);
        } else if name.eq_ignore_ascii_case("Hidden") {
            hidden = Some(match value.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(Error::BadRequest(format!(
                        "the property Hidden must be \"true\" or \"false\", not '{}'",
                        shorten(&value)
                    )));
                }
            });
        } else if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            return Err(Error::BadRequest(format!(
                "the property '{name}' is read only; Description and Hidden can be set (rename with PATCH {{\"Name\": ...}})"
            )));
        } else {
            return Err(Error::BadRequest(format!(
                "the property '{}' is not one reportd keeps (it stores no custom properties); Description and Hidden can be set",
                shorten(&name)
            )));
        }
    }
    finish_properties(c, item, description.as_deref(), hidden).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Control characters other than tab and newlines are refused in a description.
fn catalog_text_ok(s: &str) -> Result<(), Error> {
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(Error::BadRequest(
            "the property Description contains control characters".into(),
        ));
    }
    Ok(())
}

// ----------------------------------------------------------------------- allowed actions

fn actions_json(c: &Call<'_>, actions: &[&str]) -> Value {
    let value: Vec<Value> = actions.iter().map(|a| json!({"Action": a})).collect();
    json!({
        "@odata.context": format!("{}/$metadata#Collection(Model.AllowedAction)", c.api_base),
        "value": value,
    })
}

/// `GET Set(key)/AllowedActions`: what the user's roles permit on the item.
pub(super) async fn allowed_actions(c: &Call<'_>) -> Result<Response, Error> {
    let item = resolve(c, Permission::Read).await?;
    let write = c.session.can(&item.path, Permission::Write).await?;
    let security = c
        .session
        .can(&item.path, Permission::ManageSecurity)
        .await?;
    let folder = item.item_type == ItemType::Folder;
    let mut a = vec!["ReadProperties"];
    if folder {
        a.push("ListChildren");
    } else {
        a.push("ReadContent");
    }
    if item.item_type == ItemType::Report {
        a.push("ExecuteAndView");
    }
    if write {
        a.extend(["UpdateProperties", "Delete"]);
        if folder {
            a.extend([
                "CreateFolder",
                "CreateReport",
                "CreateDataSource",
                "CreateResource",
            ]);
        } else {
            a.push("UpdateContent");
        }
        if item.item_type == ItemType::Report {
            a.push("UpdateParameters");
        }
    }
    if security {
        a.extend(["ReadPolicy", "UpdatePolicy"]);
    }
    Ok(json_ok(actions_json(c, &a)))
}

/// `GET System/AllowedActions`.
pub(super) fn system_allowed_actions(c: &Call<'_>) -> Value {
    let roles = &c.session.principal.system_roles;
    let mut a = Vec::new();
    if roles
        .iter()
        .any(|r| r.permits(Permission::ViewSystemProperties))
    {
        a.push("ReadSystemProperties");
    }
    if roles.contains(&Role::SystemAdministrator) {
        a.extend([
            "UpdateSystemProperties",
            "ReadSystemSecurityPolicy",
            "UpdateSystemSecurityPolicy",
        ]);
    }
    actions_json(c, &a)
}

/// `GET System/Properties`: the site's properties any signed-in user may read.
pub(super) fn system_properties(c: &Call<'_>) -> Value {
    let props = [
        ("SiteName", "reportd".to_owned()),
        ("ProductVersion", c.state.version().to_owned()),
        ("TimeZone", "UTC".to_owned()),
        ("MaxUploadSizeMB", c.state.max_upload_mb().to_string()),
        ("EnableMyReports", "false".to_owned()),
    ];
    let value: Vec<Value> = props
        .into_iter()
        .map(|(k, v)| json!({"Name": k, "Value": v}))
        .collect();
    json!({
        "@odata.context": format!("{}/$metadata#Collection(Model.Property)", c.api_base),
        "value": value,
    })
}
