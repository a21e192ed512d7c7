//! Operations on the report server database connection (the SSRS `SetDatabaseConnection`,
//! `Generate*Script` and timeout methods): build a catalog URL from SSRS-style arguments,
//! connect (creating the catalog tables in an empty database), record it in reportd.toml,
//! and write the SQL a DBA runs to create the database and grant the service its rights.
//!
//! Scripts are for PostgreSQL, run with `psql` against the maintenance database (as SSRS's
//! are run against `master`). The catalog's tables themselves are created and migrated by
//! reportd when it connects as the database owner (the rights script makes it the owner),
//! so the migrations stay in one place (`crates/catalog/migrations`).
//!
//! Must not: print, log or return a password (URLs are shown through [`display_url`]).

use std::fmt;
use std::time::Duration;

use datadir::{Config, DataDir, DatabaseUrl};
use httpsys::Repository;

use crate::keys::{block_on, db_err};
use crate::ops::Applied;
use crate::{Error, Result};

/// How the report server logs on to its database (SSRS `CredentialsType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// 0: a named operating-system account (PostgreSQL role of that name, peer/trust auth).
    Windows,
    /// 1: a database role with a password.
    Sql,
    /// 2: the account the server runs as.
    ServiceAccount,
}

impl Credentials {
    pub fn from_code(code: i32) -> Result<Credentials> {
        match code {
            0 => Ok(Credentials::Windows),
            1 => Ok(Credentials::Sql),
            2 => Ok(Credentials::ServiceAccount),
            _ => Err(Error::Refused(format!(
                "CredentialsType {code} is not one of 0 (Windows account), 1 (database user and password), 2 (service account)"
            ))),
        }
    }
}

/// A catalog URL built from SSRS arguments. Display never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct CatalogUrl(String);

impl CatalogUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CatalogUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display_url(&self.0))
    }
}

impl fmt::Debug for CatalogUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CatalogUrl({self})")
    }
}

/// A database URL without its password ([`DatabaseUrl`]'s Display; text that does not
/// parse is shown without anything after a `:` in its user information).
pub fn display_url(url: &str) -> String {
    match DatabaseUrl::parse(url) {
        Ok(u) => u.to_string(),
        Err(_) => match url::Url::parse(url) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(None);
                u.to_string()
            }
            _ => url.to_owned(),
        },
    }
}

/// The OS user the server runs as (SSRS `WindowsServiceIdentityActual`).
pub fn service_account() -> String {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

/// Builds the catalog URL: `Server` is `host`, `host:port`, `host,port` (SQL Server's form)
/// or `[v6]:port`; the special server `sqlite` names a SQLite file (`DatabaseName`, relative
/// to the data dir).
pub fn catalog_url(
    server: &str,
    database: &str,
    creds: Credentials,
    user: &str,
    password: &str,
) -> Result<CatalogUrl> {
    let bad = |m: String| Err(Error::Refused(m));
    let database = database.trim();
    if database.is_empty() {
        return bad("DatabaseName is empty; name the report server database".into());
    }
    let server = server.trim();
    if server.eq_ignore_ascii_case("sqlite") {
        return Ok(CatalogUrl(format!("sqlite:{database}")));
    }
    if server.contains('\\') {
        return bad(format!(
            "Server {server:?} names a SQL Server instance; reportd's database is PostgreSQL: give HOST or HOST:PORT"
        ));
    }
    let (host, port) = split_server(server).ok_or_else(|| {
        Error::Refused(format!(
            "Server {server:?} is not HOST, HOST:PORT or HOST,PORT (e.g. 127.0.0.1:5432)"
        ))
    })?;
    let role = match creds {
        Credentials::ServiceAccount => service_account(),
        // DOMAIN\user: the account part is the role.
        Credentials::Windows => user.rsplit('\\').next().unwrap_or("").trim().to_owned(),
        Credentials::Sql => user.trim().to_owned(),
    };
    if role.is_empty() {
        return bad("UserName is empty; CredentialsType 0 and 1 need the database user".into());
    }
    let mut u = url::Url::parse("postgres://localhost/").expect("static URL");
    u.set_host(Some(&host))
        .map_err(|e| Error::Refused(format!("Server {server:?}: {e}")))?;
    let _ = u.set_port(Some(port));
    let _ = u.set_username(&role);
    if creds == Credentials::Sql && !password.is_empty() {
        let _ = u.set_password(Some(password));
    }
    u.path_segments_mut()
        .map_err(|_| Error::Refused("cannot build the URL".into()))?
        .clear()
        .push(database);
    Ok(CatalogUrl(u.to_string()))
}

fn split_server(s: &str) -> Option<(String, u16)> {
    if s.is_empty() {
        return None;
    }
    if let Some((h, p)) = s.split_once(',') {
        return Some((h.trim().to_owned(), p.trim().parse().ok()?));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => 5432,
            None => return None,
        };
        return Some((format!("[{h}]"), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h.to_owned(), p.parse().ok()?)),
        Some(_) => Some((format!("[{s}]"), 5432)),
        None => Some((s.to_owned(), 5432)),
    }
}

/// How [`create`] may finish.
#[derive(Debug, Default)]
pub struct CreateOptions {
    /// An administrator to add besides the one `init` left pending.
    pub admin: Option<datadir::PendingAdmin>,
    /// Finish although the database would have no System Administrator.
    pub no_admin: bool,
    /// Replace the database the instance already uses.
    pub force: bool,
}

/// What [`create`] did.
#[derive(Debug)]
pub struct Created {
    /// `sqlite` or `postgresql`.
    pub backend: String,
    /// The database now used (shown without its password).
    pub url: DatabaseUrl,
    pub schema_version: i64,
    /// System Administrators added to the database.
    pub admins_added: Vec<String>,
    /// The database used before, when the instance switched.
    pub switched_from: Option<DatabaseUrl>,
    /// The database has no System Administrator (allowed by `no_admin`).
    pub without_admin: bool,
    pub applied: Applied,
}

/// Connects the instance to the catalog at `url`: creates the database (when the user may)
/// and its tables in an empty database, moves the administrator named at `init` (and the
/// one in `opts`) into it, records the URL in reportd.toml and applies, all under the
/// data-dir lock. Nothing is recorded unless all of that worked. Refused before anything is
/// created: switching an instance that has another database without `opts.force`
/// ([`Error::WouldSwitchDatabase`]); a database that would have no System Administrator
/// without `opts.no_admin` ([`Error::NoAdministrator`]). A database holding tables that are
/// not a catalog is refused by the catalog and left untouched.
pub fn create(dd: &DataDir, url: &DatabaseUrl, opts: &CreateOptions) -> Result<Created> {
    dd.require_initialized()?;
    let _lock = dd.lock()?;
    let mut cfg = dd.load_config()?;
    let resolved = url.connect_string(dd.root());
    let switched_from = match cfg.settings.database()? {
        Some(old) if *old.connect_string(dd.root()) != *resolved => {
            if !opts.force {
                return Err(Error::WouldSwitchDatabase {
                    from: old.to_string(),
                    to: url.to_string(),
                });
            }
            Some(old)
        }
        _ => None,
    };
    let mut open = catalog::OpenOptions::new(false);
    open.connect_timeout =
        Duration::from_secs(u64::from(cfg.settings.database_logon_timeout.max(1)));
    let new_admins: Vec<datadir::PendingAdmin> = dd
        .pending_admin()?
        .into_iter()
        .chain(opts.admin.clone())
        .collect();
    let (backend, schema_version, admins_added, has_admin) = block_on(async {
        if new_admins.is_empty() && !opts.no_admin {
            // Nobody to add: an existing catalog must have an administrator already. A
            // database that does not exist yet is not created for a refusal.
            let has_admin = match catalog::open_with(&resolved, &open).await {
                Ok(cat) => cat
                    .list_users()
                    .await
                    .map_err(db_err)?
                    .iter()
                    .any(|u| u.is_system_admin()),
                // Tables that are not a catalog: say that, not that an administrator is missing.
                Err(e @ catalog::Error::Foreign(_)) => return Err(db_err(e)),
                Err(_) => false,
            };
            if !has_admin {
                return Err(Error::NoAdministrator {
                    database: url.to_string(),
                });
            }
        }
        let mut create = catalog::OpenOptions::new(true);
        create.connect_timeout = open.connect_timeout;
        let cat = catalog::open_with(&resolved, &create)
            .await
            .map_err(db_err)?;
        let mut added = Vec::new();
        for p in &new_admins {
            if cat.get_user(&p.name).await.map_err(db_err)?.is_none() {
                cat.add_user(&catalog::NewUser {
                    name: p.name.clone(),
                    password_hash: p.password_hash.clone(),
                    system_roles: vec![catalog::Role::SystemAdministrator],
                })
                .await
                .map_err(db_err)?;
                added.push(p.name.clone());
            }
        }
        let has_admin = cat
            .list_users()
            .await
            .map_err(db_err)?
            .iter()
            .any(|u| u.is_system_admin());
        Ok::<_, Error>((
            cat.backend().to_string(),
            cat.schema_version().await.map_err(db_err)?,
            added,
            has_admin,
        ))
    })??;
    cfg.settings.database_url = Some(url.stored().to_owned());
    let repo = Repository::load(dd)?;
    Config::write(&dd.config_path(), &cfg.settings, &repo.repr())?;
    dd.clear_pending_admin()?;
    // Under the lock, so that changes reach the server in the order they were committed.
    let applied = crate::ops::apply(dd)?;
    Ok(Created {
        backend,
        url: url.clone(),
        schema_version,
        admins_added,
        switched_from,
        without_admin: !has_admin,
        applied,
    })
}

/// The WMI `SetDatabaseConnection`: [`create`] that may switch databases and finish
/// without an administrator (SSRS's method checks neither).
pub fn connect(dd: &DataDir, url: &CatalogUrl) -> Result<Applied> {
    let url = DatabaseUrl::parse(url.as_str()).map_err(|e| Error::Refused(e.to_string()))?;
    let opts = CreateOptions {
        admin: None,
        no_admin: true,
        force: true,
    };
    Ok(create(dd, &url, &opts)?.applied)
}

/// `"name"` with `"` doubled: a PostgreSQL identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `'text'` with `'` doubled: a PostgreSQL string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn check_name(what: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() || s.len() > 63 || s.chars().any(|c| c.is_control()) {
        return Err(Error::Refused(format!(
            "{what} {s:?} is not a PostgreSQL name: use 1-63 printable characters"
        )));
    }
    Ok(())
}

/// GenerateDatabaseCreationScript: the SQL that creates the report server database.
pub fn creation_script(database: &str) -> Result<String> {
    check_name("DatabaseName", database)?;
    Ok(format!(
        "-- reportd: create the report server database {db} (PostgreSQL).\n\
         -- Run as a role that may create databases, on the maintenance database, e.g.\n\
         --   psql -h HOST -U postgres -d postgres -v ON_ERROR_STOP=1 -f create.sql\n\
         -- then run the rights script; reportd creates its tables (schema version {v}) when it\n\
         -- first connects (SetDatabaseConnection or `reportctl database create`).\n\
         CREATE DATABASE {db} ENCODING 'UTF8' TEMPLATE template0;\n",
        db = ident(database),
        v = catalog::SCHEMA_VERSION
    ))
}

/// GenerateDatabaseRightsScript: the SQL that lets `user` run the report server on
/// `database`: a login role (created when missing) that owns the database, so that it can
/// create and migrate the catalog's tables in its `public` schema.
pub fn rights_script(user: &str, database: &str, windows_user: bool) -> Result<String> {
    let role = if windows_user {
        user.rsplit('\\').next().unwrap_or("").trim()
    } else {
        user.trim()
    };
    check_name("UserName", role)?;
    check_name("DatabaseName", database)?;
    if role.contains("$reportd$") {
        return Err(Error::Refused(format!("UserName {role:?} cannot be used")));
    }
    let auth = if windows_user {
        "-- The role logs on as the operating-system account (peer or trust authentication in pg_hba.conf).\n"
    } else {
        "-- A database user: give the role its password (ALTER ROLE ... PASSWORD '...') if it has none.\n"
    };
    Ok(format!(
        "-- reportd: rights of {r} on the report server database {db} (PostgreSQL).\n\
         -- Run as a superuser or the database's owner, on the maintenance database.\n\
         {auth}\
         DO $reportd$ BEGIN\n  \
           IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = {lit}) THEN\n    \
             CREATE ROLE {r} LOGIN;\n  \
           END IF;\n\
         END $reportd$;\n\
         ALTER DATABASE {db} OWNER TO {r};\n\
         GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {r};\n",
        r = ident(role),
        lit = literal(role),
        db = ident(database),
    ))
}

/// GenerateDatabaseUpgradeScript: what moves a catalog at `server_version` (its schema
/// version) to this build's.
pub fn upgrade_script(database: &str, server_version: &str) -> Result<String> {
    check_name("DatabaseName", database)?;
    let v = server_version.trim();
    let from: i64 = v.parse().map_err(|_| {
        Error::Refused(format!(
            "ServerVersion {v:?} is not a reportd schema version: give the database's schema version, an integer such as {}",
            catalog::SCHEMA_VERSION
        ))
    })?;
    let latest = catalog::SCHEMA_VERSION;
    if from > latest {
        return Err(Error::Refused(format!(
            "the database is at schema version {from}, newer than this reportd ({latest}); upgrade reportd instead"
        )));
    }
    Ok(if from == latest {
        format!(
            "-- reportd: {} is at schema version {latest}, the version of this build; nothing to upgrade.\n",
            ident(database)
        )
    } else {
        format!(
            "-- reportd: {} is at schema version {from}; this build uses {latest}.\n\
             -- reportd applies the migrations {}..{latest} itself, in one transaction, when it\n\
             -- connects as the database owner (see the rights script); nothing to run by hand.\n",
            ident(database),
            from + 1
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_from_ssrs_arguments() {
        let u = catalog_url(
            "127.0.0.1:5433",
            "ReportServer$RS1",
            Credentials::Sql,
            "rs",
            "p@ss:/w",
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "postgres://rs:p%40ss%3A%2Fw@127.0.0.1:5433/ReportServer$RS1"
        );
        assert_eq!(
            u.to_string(),
            "postgres://rs@127.0.0.1:5433/ReportServer$RS1"
        );
        assert!(!format!("{u:?}").contains("p%40ss"));
        let u = catalog_url(
            "db.example,5432",
            "rs",
            Credentials::Windows,
            "CORP\\svc",
            "",
        )
        .unwrap();
        assert_eq!(u.as_str(), "postgres://svc@db.example:5432/rs");
        let u = catalog_url("localhost", "rs", Credentials::ServiceAccount, "", "").unwrap();
        assert!(u.as_str().ends_with("@localhost:5432/rs"), "{u}");
        let u = catalog_url("[::1]:5432", "rs", Credentials::Sql, "a", "").unwrap();
        assert_eq!(u.as_str(), "postgres://a@[::1]:5432/rs");
        assert_eq!(
            catalog_url("SQLite", "cat.db", Credentials::ServiceAccount, "", "")
                .unwrap()
                .as_str(),
            "sqlite:cat.db"
        );
        assert!(catalog_url("srv\\INST", "rs", Credentials::ServiceAccount, "", "").is_err());
        assert!(catalog_url("h:notaport", "rs", Credentials::ServiceAccount, "", "").is_err());
        assert!(catalog_url("h", "rs", Credentials::Sql, "", "").is_err());
        assert!(catalog_url("h", " ", Credentials::ServiceAccount, "", "").is_err());
        assert!(Credentials::from_code(3).is_err());
    }

    #[test]
    fn scripts_quote_names() {
        let s = creation_script("Report\"Server$RS").unwrap();
        assert!(
            s.contains("CREATE DATABASE \"Report\"\"Server$RS\" ENCODING"),
            "{s}"
        );
        let r = rights_script("DOM\\o'neil", "db", true).unwrap();
        assert!(
            r.contains("rolname = 'o''neil'") && r.contains("OWNER TO \"o'neil\""),
            "{r}"
        );
        assert!(rights_script("x$reportd$y", "db", false).is_err());
        assert!(creation_script("").is_err());
        assert!(
            upgrade_script("db", &catalog::SCHEMA_VERSION.to_string())
                .unwrap()
                .contains("nothing to upgrade")
        );
        assert!(
            upgrade_script("db", "0")
                .unwrap()
                .contains("migrations 1..")
        );
        assert!(upgrade_script("db", "99").is_err());
        assert!(upgrade_script("db", "13.0.1").is_err());
    }
}
