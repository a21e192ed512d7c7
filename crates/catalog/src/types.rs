//! Values stored in and returned by the catalog.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ItemPath;

/// What a catalog item is (SSRS CatalogItem types; more may come: LinkedReport, Kpi...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemType {
    Folder,
    Report,
    DataSource,
    Resource,
}

impl ItemType {
    /// The SSRS type name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Folder => "Folder",
            ItemType::Report => "Report",
            ItemType::DataSource => "DataSource",
            ItemType::Resource => "Resource",
        }
    }

    /// The type an uploaded file becomes, from its name: `.rdl` → Report, `.rds` (the
    /// designer's file) and `.rsds` (the server's `DataSourceDefinition`) → DataSource,
    /// anything else → Resource (as the SSRS portal's upload does).
    pub fn for_upload(file_name: &str) -> ItemType {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".rdl") {
            ItemType::Report
        } else if lower.ends_with(".rds") || lower.ends_with(".rsds") {
            ItemType::DataSource
        } else {
            ItemType::Resource
        }
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ItemType {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Folder" => Ok(ItemType::Folder),
            "Report" => Ok(ItemType::Report),
            "DataSource" => Ok(ItemType::DataSource),
            "Resource" => Ok(ItemType::Resource),
            other => Err(crate::Error::Db(format!(
                "unknown item type {other:?} in catalog"
            ))),
        }
    }
}

/// An item of the catalog, without its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogItem {
    pub id: Uuid,
    pub path: ItemPath,
    /// Last segment of the path (empty for the root).
    pub name: String,
    pub item_type: ItemType,
    /// Content length in bytes (0 for folders).
    pub size: i64,
    /// MIME type of a resource's content (None for folders, reports, data sources).
    pub mime_type: Option<String>,
    pub description: String,
    pub hidden: bool,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub modified_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub modified_at: OffsetDateTime,
}

/// A report, data source or resource to store with [`crate::Catalog::put_item`].
#[derive(Clone, Debug)]
pub struct NewItem<'a> {
    pub path: &'a ItemPath,
    pub item_type: ItemType,
    pub content: &'a [u8],
    pub mime_type: Option<&'a str>,
    pub description: &'a str,
    pub by: &'a str,
    /// Replace an existing item of the same type at this path instead of failing.
    pub overwrite: bool,
}

/// Editable properties of an item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemProperties {
    pub description: String,
    pub hidden: bool,
}

/// The SSRS roles. The first two are system roles (held by a user for the whole site);
/// the other three are item roles (assigned on an item, inherited by what is below it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    SystemAdministrator,
    SystemUser,
    ContentManager,
    Publisher,
    Browser,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::SystemAdministrator,
        Role::SystemUser,
        Role::ContentManager,
        Role::Publisher,
        Role::Browser,
    ];

    /// The SSRS display name ("System Administrator", "Content Manager", ...).
    pub fn name(self) -> &'static str {
        match self {
            Role::SystemAdministrator => "System Administrator",
            Role::SystemUser => "System User",
            Role::ContentManager => "Content Manager",
            Role::Publisher => "Publisher",
            Role::Browser => "Browser",
        }
    }

    /// A system role (held site-wide) rather than an item role.
    pub fn is_system(self) -> bool {
        matches!(self, Role::SystemAdministrator | Role::SystemUser)
    }

    /// What holding this role permits. System Administrator may do everything.
    pub fn permits(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::SystemAdministrator => true,
            Role::SystemUser => matches!(p, ViewSystemProperties),
            Role::ContentManager => matches!(p, Read | Write | ManageSecurity),
            Role::Publisher => matches!(p, Read | Write),
            Role::Browser => matches!(p, Read),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = crate::Error;
    /// Accepts the display name or the name without spaces, any case
    /// ("System Administrator", "systemadministrator", "browser").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let squashed: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
            .collect();
        Role::ALL
            .into_iter()
            .find(|r| r.name().replace(' ', "").eq_ignore_ascii_case(&squashed))
            .ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|r| r.name()).collect();
                crate::Error::Invalid(format!(
                    "unknown role {s:?}; roles are: {}",
                    names.join(", ")
                ))
            })
    }
}

/// What a request wants to do, checked against roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// View items, folder listings, render reports.
    Read,
    /// Create, replace, delete items; change properties.
    Write,
    /// Change role assignments of items.
    ManageSecurity,
    /// View site settings.
    ViewSystemProperties,
}

/// One role assignment on an item: a user and the item roles they hold there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub user: String,
    pub roles: Vec<Role>,
}

/// A user to add.
#[derive(Clone)]
pub struct NewUser {
    pub name: String,
    /// PHC string from [`crate::password::hash`].
    pub password_hash: String,
    pub system_roles: Vec<Role>,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("system_roles", &self.system_roles)
            .finish_non_exhaustive()
    }
}

/// A user of the report server.
#[derive(Clone)]
pub struct User {
    pub name: String,
    pub password_hash: String,
    pub system_roles: Vec<Role>,
    pub created_at: OffsetDateTime,
}

impl User {
    pub fn is_system_admin(&self) -> bool {
        self.system_roles.contains(&Role::SystemAdministrator)
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("system_roles", &self.system_roles)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod upload_type_tests {
    use super::ItemType;

    #[test]
    fn uploads_are_typed_by_their_extension() {
        assert_eq!(ItemType::for_upload("Sales.rdl"), ItemType::Report);
        assert_eq!(ItemType::for_upload("Main.RDS"), ItemType::DataSource);
        assert_eq!(ItemType::for_upload("Main.rsds"), ItemType::DataSource);
        assert_eq!(ItemType::for_upload("logo.png"), ItemType::Resource);
        assert_eq!(ItemType::for_upload("notes.rsds.txt"), ItemType::Resource);
    }
}
