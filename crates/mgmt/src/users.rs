//! Users and their roles in the report server database: the one implementation of adding,
//! removing, re-passwording a user and setting someone's system roles, for every front end
//! (`reportctl user`, the portal's Users and Security pages, and whatever comes next).
//!
//! Each operation validates its input first (user name, role, password policy) and hashes
//! a new password only once everything else is known to be right, then writes the catalog
//! (which refuses to take the last System Administrator), tells the running server so that
//! credentials it cached stop working at its next request ([`crate::ops::catalog_changed`]),
//! and logs one audit line: who, what, from which front end. The running server logs the
//! same line when the change came from another process. Passwords are never logged; the
//! caller hashes them (on its own workers) through the closure it passes.

use std::future::Future;

use catalog::{Catalog, ItemPath, NewUser, Policy, Role};
use datadir::DataDir;
use httpsys::logsafe::{DEFAULT_MAX, escape};

use crate::{Error, Result};

/// Which front end asked for a change (logged with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontEnd {
    /// `reportctl` on the machine (the OS user is the actor).
    Cli,
    /// A page of the web portal.
    Portal,
    /// The REST API.
    Rest,
    /// The WMI-named management API on the socket.
    Wmi,
}

impl FrontEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            FrontEnd::Cli => "reportctl",
            FrontEnd::Portal => "portal",
            FrontEnd::Rest => "rest",
            FrontEnd::Wmi => "wmi",
        }
    }
}

/// Who makes a change, and through which front end.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The signed-in user, or the OS user for `reportctl`.
    pub name: &'a str,
    pub front_end: FrontEnd,
}

/// What a user operation got wrong in its input; each front end adds its own fix (a CLI
/// argument, a form field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserProblem {
    /// Empty, too long, with ':' (it ends a Basic user id), control characters or
    /// surrounding spaces.
    #[error(
        "invalid user name {0:?}: use 1-128 characters without ':', control characters or surrounding spaces"
    )]
    InvalidName(String),
    /// A system role was asked for where only system roles go (or the other way round).
    #[error("{0} is not a system role; the system roles are System Administrator and System User")]
    NotSystemRole(Role),
    /// A system role was given as an item role.
    #[error(
        "{0} is a system role, held site-wide, not on an item; the item roles are Browser, Publisher, Content Manager, My Reports and Report Builder"
    )]
    SystemRoleOnItem(Role),
}

/// The user operations as one front end makes them: on a catalog, for a data dir, by an
/// actor.
#[derive(Clone, Copy)]
pub struct Users<'a> {
    pub cat: &'a dyn Catalog,
    pub dd: &'a DataDir,
    pub by: Actor<'a>,
}

/// User names: 1-128 characters, no control characters, no ':' (it ends the Basic user id),
/// no surrounding spaces.
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.chars().count() > 128
        || name.contains(':')
        || name.chars().any(|c| c.is_control())
        || name.trim() != name
    {
        return Err(Error::User(UserProblem::InvalidName(name.to_owned())));
    }
    Ok(())
}

impl Users<'_> {
    /// Adds `name` with `role`: a system role is held site-wide, an item role is assigned on
    /// `/` (and inherited below it). `hash` turns the password (already checked against the
    /// policy here) into its stored hash; it runs only when the rest is valid. Nothing is left
    /// behind on failure: a user whose role on `/` cannot be assigned is removed again.
    pub async fn add<F, Fut, E>(
        &self,
        name: &str,
        role: Role,
        password: &str,
        hash: F,
    ) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = std::result::Result<String, E>>,
        Error: From<E>,
    {
        let Users { cat, dd, by } = *self;
        validate_name(name)?;
        catalog::password::check_policy(password)?;
        let password_hash = hash().await?;
        cat.add_user(&NewUser {
            name: name.to_owned(),
            password_hash,
            system_roles: if role.is_system() { vec![role] } else { vec![] },
        })
        .await?;
        if !role.is_system()
            && let Err(e) = assign_on_root(cat, name, role).await
        {
            let _ = cat.delete_user(name).await;
            return Err(e);
        }
        let scope = if role.is_system() {
            "system role"
        } else {
            "item role on /"
        };
        changed(
            dd,
            by,
            &format!("user {} added ({scope}: {role})", esc(name)),
        );
        Ok(())
    }

    /// Removes `name` and their role assignments (the catalog refuses the last System
    /// Administrator).
    pub async fn remove(&self, name: &str) -> Result<()> {
        let Users { cat, dd, by } = *self;
        cat.delete_user(name).await?;
        changed(dd, by, &format!("user {} removed", esc(name)));
        Ok(())
    }

    /// Sets `name`'s password; `hash` runs only for a user that exists and a password the
    /// policy accepts, so the error names an unknown user at once.
    pub async fn set_password<F, Fut, E>(&self, name: &str, password: &str, hash: F) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = std::result::Result<String, E>>,
        Error: From<E>,
    {
        let Users { cat, dd, by } = *self;
        catalog::password::check_policy(password)?;
        if cat.get_user(name).await?.is_none() {
            return Err(catalog::Error::UnknownUser(name.to_owned()).into());
        }
        let password_hash = hash().await?;
        cat.set_password_hash(name, &password_hash).await?;
        changed(dd, by, &format!("password of {} changed", esc(name)));
        Ok(())
    }

    /// Sets `name`'s system roles to exactly `roles` (the catalog refuses to take the last
    /// System Administrator's).
    pub async fn set_system_roles(&self, name: &str, roles: &[Role]) -> Result<()> {
        let Users { cat, dd, by } = *self;
        of_kind(roles.iter(), true)?;
        cat.set_system_roles(name, roles).await?;
        let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        let now = if names.is_empty() {
            "no system role".to_string()
        } else {
            names.join(", ")
        };
        changed(dd, by, &format!("system roles of {} set: {now}", esc(name)));
        Ok(())
    }

    /// Sets the item roles of `path`: `Some(list)` breaks inheritance with exactly `list`,
    /// `None` inherits the parent's again. A system role in `list` is refused.
    pub async fn set_item_policies(
        &self,
        path: &ItemPath,
        policies: Option<&[Policy]>,
    ) -> Result<()> {
        let Users { cat, dd, by } = *self;
        of_kind(
            policies.unwrap_or_default().iter().flat_map(|p| &p.roles),
            false,
        )?;
        cat.set_policies(path, policies).await?;
        let what = match policies {
            None => format!(
                "item roles of {} inherited from the parent",
                esc(path.as_ref())
            ),
            Some(l) => format!(
                "item roles of {} set for {} user(s)",
                esc(path.as_ref()),
                l.len()
            ),
        };
        changed(dd, by, &what);
        Ok(())
    }
}

async fn assign_on_root(cat: &dyn Catalog, name: &str, role: Role) -> Result<()> {
    let root = ItemPath::root();
    let mut policies = cat.get_policies(&root).await?.unwrap_or_default();
    match policies
        .iter_mut()
        .find(|p| p.user.eq_ignore_ascii_case(name))
    {
        Some(p) if !p.roles.contains(&role) => p.roles.push(role),
        Some(_) => return Ok(()),
        None => policies.push(Policy {
            user: name.to_owned(),
            roles: vec![role],
        }),
    }
    cat.set_policies(&root, Some(&policies)).await?;
    Ok(())
}

/// Refuses the first role that is not a system role (`system`) or is one (`!system`).
fn of_kind<'a>(mut roles: impl Iterator<Item = &'a Role>, system: bool) -> Result<()> {
    match roles.find(|r| r.is_system() != system) {
        None => Ok(()),
        Some(r) if system => Err(Error::User(UserProblem::NotSystemRole(*r))),
        Some(r) => Err(Error::User(UserProblem::SystemRoleOnItem(*r))),
    }
}

fn esc(name: &str) -> String {
    escape(name, DEFAULT_MAX).to_string()
}

/// The audit line, and the running server told (it logs the line too when the change came
/// from another process).
fn changed(dd: &DataDir, by: Actor<'_>, what: &str) {
    tracing::info!(
        by = %esc(by.name),
        front_end = by.front_end.as_str(),
        "catalog change: {what}"
    );
    crate::ops::catalog_changed_by(
        dd,
        &format!("{what}, by {} ({})", esc(by.name), by.front_end.as_str()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_checked_before_anything_is_written() {
        for bad in ["", " admin", "a:b", "tab\there", &"x".repeat(129)] {
            assert!(
                matches!(
                    validate_name(bad),
                    Err(Error::User(UserProblem::InvalidName(_)))
                ),
                "{bad:?}"
            );
        }
        validate_name("Jane Doe").unwrap();
        validate_name(&"x".repeat(128)).unwrap();
    }
}
