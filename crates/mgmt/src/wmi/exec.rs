//! Runs a bound WMI call through the operations library and shapes the SSRS answer.
//!
//! One arm per [`Op`]: parse the arguments into the library's types (a malformed value is
//! `E_INVALIDARG` naming the parameter), call the one operation that owns the change, and
//! put the results under their SSRS out-parameter names.

use std::net::IpAddr;

use base64::Engine;
use serde_json::{Map, Value, json};

use certstore::{CertStore, San, StoreName, Thumbprint};
use datadir::DataDir;
use httpsys::{Application, Endpoint, HostSpec, Repository, UrlReservation, VirtualDirectory};

use super::hresult::{self, Context};
use super::table::{BindError, Bound, Class, Op};
use crate::protocol::Response;
use crate::{Error, database, keys, ops};

/// A failed call before or inside the operation.
struct Fail(Box<Response>);

impl Fail {
    fn new(r: Response) -> Fail {
        Fail(Box::new(r))
    }
}

impl From<BindError> for Fail {
    fn from(e: BindError) -> Fail {
        Fail::new(hresult::failure(hresult::E_INVALIDARG, e.0))
    }
}

fn invalid(m: String) -> Fail {
    Fail::new(hresult::failure(hresult::E_INVALIDARG, m))
}

fn op_err(ctx: Context) -> impl Fn(Error) -> Fail {
    move |e| Fail::new(hresult::from_error(&e, ctx))
}

type Out = Map<String, Value>;

/// Runs `b`; the answer's `HRESULT` is 0 exactly when the operation succeeded.
pub fn run(dd: &DataDir, b: &Bound) -> Response {
    if let Op::NotImplemented(why) = b.method.op {
        return hresult::failure(
            hresult::E_NOTIMPL,
            format!("{} is not implemented: {why}", b.method.name),
        );
    }
    if let Err(e) = dd.require_initialized() {
        return hresult::failure(hresult::E_FAIL, e.to_string());
    }
    match dispatch(dd, b) {
        Ok(out) => Response {
            out,
            ..Response::ok()
        },
        Err(Fail(r)) => *r,
    }
}

fn app(b: &Bound) -> Result<Application, Fail> {
    let s = b.str("Application")?;
    s.parse::<Application>().map_err(|e| invalid(e.to_string()))
}

fn url(b: &Bound) -> Result<UrlReservation, Fail> {
    b.str("UrlString")?
        .parse::<UrlReservation>()
        .map_err(|e| invalid(format!("UrlString: {e}")))
}

/// The endpoint of CreateSSLCertificateBinding's IPAddress and Port: an IP (`0.0.0.0` =
/// every address; default when not given) or a host name (an SNI binding).
fn endpoint(b: &Bound) -> Result<Endpoint, Fail> {
    let port = b.opt_i32("Port").unwrap_or(443);
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| invalid(format!("Port {port} is not a TCP port (1-65535)")))?;
    let ip = b.opt_str("IPAddress").unwrap_or("0.0.0.0").trim();
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    match ip.parse::<IpAddr>() {
        Ok(a) => Ok(Endpoint::IpPort(a, port)),
        Err(_) => match httpsys::parse_host(ip) {
            Some(HostSpec::Name(n)) => Ok(Endpoint::HostnamePort(n, port)),
            _ => Err(invalid(format!(
                "IPAddress {ip:?} is neither an IP address nor a host name; use 0.0.0.0 for every address"
            ))),
        },
    }
}

fn thumb(b: &Bound) -> Result<Thumbprint, Fail> {
    let s = b.str("CertificateHash")?;
    s.parse::<Thumbprint>().map_err(|_| {
        invalid(format!(
            "CertificateHash {s:?} is not a certificate hash (40 hex digits, the SHA-1 thumbprint); ListSSLCertificates shows them"
        ))
    })
}

fn strings<I: IntoIterator<Item = String>>(v: I) -> Value {
    Value::Array(v.into_iter().map(Value::String).collect())
}

fn repo(dd: &DataDir) -> Result<Repository, Fail> {
    Repository::load(dd).map_err(|e| op_err(Context::Other)(Error::Bindings(e)))
}

/// Full URLs a browser can open: the wildcard hosts become `localhost`.
fn browsable(u: &UrlReservation, vdir: &str) -> String {
    let host = match &u.host {
        HostSpec::StrongWildcard | HostSpec::WeakWildcard => "localhost".to_owned(),
        HostSpec::Ip(ip) if ip.is_unspecified() => "localhost".to_owned(),
        h => h.to_string(),
    };
    format!("{}://{host}:{}/{vdir}", u.scheme.as_str(), u.port)
}

fn dispatch(dd: &DataDir, b: &Bound) -> Result<Out, Fail> {
    let mut out = Out::new();
    match b.method.op {
        Op::NotImplemented(_) => unreachable!("answered before"),
        Op::SetVirtualDirectory => {
            let app = app(b)?;
            let vdir: VirtualDirectory = b
                .str("VirtualDirectory")?
                .parse()
                .map_err(|e: httpsys::Error| invalid(e.to_string()))?;
            ops::change_repository(dd, |r| Ok(r.set_vdir(app, vdir.clone())?))
                .map_err(op_err(Context::Reserve))?;
        }
        Op::ReserveUrl => {
            let (app, url) = (app(b)?, url(b)?);
            ops::reserve_url(dd, app, &url, "wmi").map_err(op_err(Context::Reserve))?;
        }
        Op::RemoveUrl => {
            let (app, url) = (app(b)?, url(b)?);
            ops::remove_url_and_bindings(dd, app, &url).map_err(op_err(Context::Other))?;
        }
        Op::ListReservedUrls => {
            let r = repo(dd)?;
            let owner = database::service_account();
            out.insert(
                "Application".into(),
                strings(r.reservations.iter().map(|x| x.app.ssrs_name().to_owned())),
            );
            out.insert(
                "UrlString".into(),
                strings(r.reservations.iter().map(|x| x.url.to_string())),
            );
            out.insert(
                "Account".into(),
                strings(r.reservations.iter().map(|_| owner.clone())),
            );
            out.insert(
                "AccountSID".into(),
                strings(
                    r.reservations
                        .iter()
                        .map(|_| nix::unistd::getuid().to_string()),
                ),
            );
            out.insert("Length".into(), json!(r.reservations.len()));
        }
        Op::ListVirtualDirectories => {
            let r = repo(dd)?;
            out.insert(
                "Application".into(),
                strings(Application::ALL.iter().map(|a| a.ssrs_name().to_owned())),
            );
            out.insert(
                "VirtualDirectory".into(),
                strings(Application::ALL.iter().map(|a| r.vdir(*a).to_owned())),
            );
            out.insert("Length".into(), json!(Application::ALL.len()));
        }
        Op::CreateSslCertificateBinding => {
            let (app, t, e) = (app(b)?, thumb(b)?, endpoint(b)?);
            ops::ssl_bind(dd, app, &t, &e, &ops::PolicyFlags::default())
                .map_err(op_err(Context::Bind))?;
        }
        Op::RemoveSslCertificateBindings => {
            let (app, t, e) = (app(b)?, thumb(b)?, endpoint(b)?);
            let r = repo(dd)?;
            if let Some(x) = r.binding(&e)
                && x.apps.contains(&app)
                && x.thumbprint.parse::<Thumbprint>().ok() != Some(t)
            {
                return Err(Fail::new(hresult::failure(
                    hresult::NOT_FOUND,
                    format!(
                        "{e} is bound to certificate {} for {}, not to {t}; ListSSLCertificateBindings shows the bindings",
                        x.thumbprint,
                        app.ssrs_name()
                    ),
                )));
            }
            ops::ssl_unbind(dd, app, &e).map_err(op_err(Context::Other))?;
        }
        Op::ListSslCertificateBindings => {
            let r = repo(dd)?;
            let rows: Vec<(Application, &httpsys::SslBinding)> = r
                .ssl_bindings
                .iter()
                .flat_map(|x| x.apps.iter().map(move |a| (*a, x)))
                .collect();
            out.insert(
                "Application".into(),
                strings(rows.iter().map(|(a, _)| a.ssrs_name().to_owned())),
            );
            out.insert(
                "CertificateHash".into(),
                strings(rows.iter().map(|(_, x)| x.thumbprint.to_ascii_lowercase())),
            );
            out.insert(
                "IPAddress".into(),
                strings(rows.iter().map(|(_, x)| match &x.endpoint {
                    Endpoint::IpPort(ip, _) => ip.to_string(),
                    Endpoint::HostnamePort(h, _) => h.clone(),
                    Endpoint::Ccs(_) => "ccs".into(),
                })),
            );
            out.insert(
                "Port".into(),
                Value::Array(rows.iter().map(|(_, x)| json!(x.endpoint.port())).collect()),
            );
            out.insert("Length".into(), json!(rows.len()));
        }
        Op::ListSslCertificates => {
            let store = CertStore::open(&dd.certs_dir())
                .map_err(|e| Fail::new(hresult::failure(hresult::E_FAIL, e.to_string())))?;
            let certs: Vec<_> = store
                .list(StoreName::My)
                .map_err(|e| Fail::new(hresult::failure(hresult::E_FAIL, e.to_string())))?
                .into_iter()
                .filter(|c| c.has_private_key && c.server_auth)
                .collect();
            let host = |c: &certstore::CertInfo| {
                c.sans
                    .iter()
                    .find_map(|s| match s {
                        San::Dns(d) => Some(d.clone()),
                        San::Ip(_) => None,
                    })
                    .or_else(|| {
                        c.sans.first().map(|s| match s {
                            San::Dns(d) => d.clone(),
                            San::Ip(i) => i.to_string(),
                        })
                    })
                    .unwrap_or_else(|| c.subject.clone())
            };
            out.insert(
                "CertName".into(),
                strings(
                    certs
                        .iter()
                        .map(|c| c.friendly_name.clone().unwrap_or_else(|| c.subject.clone())),
                ),
            );
            out.insert("HostName".into(), strings(certs.iter().map(host)));
            out.insert(
                "CertificateHash".into(),
                strings(
                    certs
                        .iter()
                        .map(|c| c.thumbprint.to_string().to_ascii_lowercase()),
                ),
            );
            out.insert("Length".into(), json!(certs.len()));
        }
        Op::ListIpAddresses => {
            let ips = ops::local_addresses();
            out.insert(
                "IPAddress".into(),
                strings(ips.iter().map(|i| i.to_string())),
            );
            out.insert(
                "IPVersion".into(),
                strings(
                    ips.iter()
                        .map(|i| if i.is_ipv4() { "V4" } else { "V6" }.to_owned()),
                ),
            );
            out.insert(
                "IsDhcpEnabled".into(),
                Value::Array(ips.iter().map(|_| Value::Bool(false)).collect()),
            );
            out.insert("Length".into(), json!(ips.len()));
        }
        Op::GetReportServerUrls => {
            let r = repo(dd)?;
            let rows: Vec<(Application, String)> = r
                .reservations
                .iter()
                .map(|x| (x.app, browsable(&x.url, r.vdir(x.app))))
                .collect();
            out.insert(
                "ApplicationName".into(),
                strings(rows.iter().map(|(a, _)| a.ssrs_name().to_owned())),
            );
            out.insert("URLs".into(), strings(rows.iter().map(|(_, u)| u.clone())));
            out.insert("Length".into(), json!(rows.len()));
        }
        Op::SetSecureConnectionLevel => {
            let level = b.i32("Level")?;
            if !(0..=3).contains(&level) {
                return Err(invalid(format!("Level {level} is not 0 (off) or 1-3 (on)")));
            }
            ops::set_setting_key(
                dd,
                datadir::SettingKey::SecureConnectionLevel,
                &level.to_string(),
            )
            .map_err(op_err(Context::Other))?;
        }
        Op::SetServiceState => {
            let windows = b.bool("EnableWindowsService")?;
            let web = b.bool("EnableWebService")?;
            let running = ops::server_running(dd);
            if windows && web {
                if !running {
                    return Err(Fail::new(hresult::failure(
                        hresult::E_FAIL,
                        "the server is stopped; this API cannot start it: run `reportctl start` (or `systemctl start reportd`)".to_string(),
                    )));
                }
            } else if running {
                // reportd is one process: the web service stops with the service.
                ops::set_service_state(dd, false).map_err(op_err(Context::Other))?;
            }
        }
        Op::InitializeReportServer => {
            let id = b.str("InstallationID")?;
            let cfg = config(dd)?;
            if !same_id(id, &cfg.settings.instance_id) {
                return Err(invalid(format!(
                    "InstallationID {id:?} is not an installation in this report server database; this instance is {} (ListReportServersInDatabase)",
                    cfg.settings.instance_id
                )));
            }
            if cfg.settings.database_url.is_none() {
                return Err(Fail::new(hresult::failure(
                    hresult::E_FAIL,
                    "the report server has no database yet; call SetDatabaseConnection first",
                )));
            }
            // A single node holds its own key from the start: initialized.
        }
        Op::ListReportServersInDatabase => {
            let cfg = config(dd)?;
            let init = cfg.settings.database_url.is_some();
            out.insert(
                "InstallationIDs".into(),
                strings([cfg.settings.instance_id.clone()]),
            );
            out.insert("MachineNames".into(), strings([machine_name()]));
            out.insert("InstanceNames".into(), strings([instance_name(dd)]));
            out.insert("IsInitialized".into(), json!([init]));
            out.insert("Length".into(), json!(1));
        }
        Op::DeleteEncryptionKey => {
            let id = b.str("InstallationID")?;
            let cfg = config(dd)?;
            if !same_id(id, &cfg.settings.instance_id) {
                return Err(invalid(format!(
                    "InstallationID {id:?} is not an installation in this report server database; ListReportServersInDatabase shows them"
                )));
            }
            return Err(Fail::new(hresult::failure(
                hresult::E_FAIL,
                format!(
                    "{id} is the only installation of this database: removing its key would leave the instance without one; back the key up (BackupEncryptionKey) and replace it with RestoreEncryptionKey, or start afresh with DeleteEncryptedInformation"
                ),
            )));
        }
        Op::BackupEncryptionKey => {
            let pw = b.str("Password")?;
            let (file, check) = keys::backup(dd, pw).map_err(op_err(Context::Other))?;
            out.insert("Length".into(), json!(file.len()));
            out.insert(
                "KeyFile".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(&file)),
            );
            out.insert("KeyCheckValue".into(), Value::String(check));
        }
        Op::RestoreEncryptionKey => {
            let file = b.bytes("KeyFile")?;
            if let Some(n) = b.opt_i32("Length")
                && usize::try_from(n).ok() != Some(file.len())
            {
                return Err(invalid(format!(
                    "Length {n} is not the length of KeyFile ({} bytes)",
                    file.len()
                )));
            }
            let pw = b.str("Password")?;
            let (change, unreadable) = keys::restore(dd, file, pw).map_err(|e| match &e {
                Error::Refused(m) if m.contains("password is wrong") => {
                    Fail::new(hresult::failure(hresult::NTE_BAD_DATA, m.clone()))
                }
                _ => op_err(Context::Other)(e),
            })?;
            out.insert("KeyCheckValue".into(), Value::String(change.check_value));
            out.insert("RestartRequired".into(), Value::Bool(change.restart_needed));
            if unreadable > 0 {
                out.insert(
                    "Warnings".into(),
                    strings([format!(
                        "{unreadable} shared data source(s) hold credentials sealed with another key and cannot be opened with this one: {}",
                        change.data_sources.join(", ")
                    )]),
                );
            }
        }
        Op::ReencryptSecureInformation | Op::DeleteEncryptedInformation => {
            let change = if b.method.op == Op::ReencryptSecureInformation {
                keys::rotate(dd)
            } else {
                keys::delete_encrypted(dd)
            }
            .map_err(op_err(Context::Other))?;
            out.insert("KeyCheckValue".into(), Value::String(change.check_value));
            out.insert("DataSources".into(), strings(change.data_sources));
            out.insert("RestartRequired".into(), Value::Bool(change.restart_needed));
        }
        Op::SetDatabaseConnection => {
            let creds = database::Credentials::from_code(b.i32("CredentialsType")?)
                .map_err(|e| invalid(e.to_string()))?;
            let url = database::catalog_url(
                b.str("Server")?,
                b.str("DatabaseName")?,
                creds,
                b.opt_str("UserName").unwrap_or(""),
                b.opt_str("Password").unwrap_or(""),
            )
            .map_err(|e| invalid(e.to_string()))?;
            database::connect(dd, &url).map_err(op_err(Context::Other))?;
        }
        Op::GenerateDatabaseCreationScript => {
            if matches!(b.bool("IsSharePointMode"), Ok(true)) {
                return Err(invalid(
                    "IsSharePointMode must be false: reportd runs in native mode only".into(),
                ));
            }
            let s = database::creation_script(b.str("DatabaseName")?)
                .map_err(|e| invalid(e.to_string()))?;
            out.insert("Script".into(), Value::String(s));
        }
        Op::GenerateDatabaseRightsScript => {
            let windows = b.bool("IsWindowsUser").unwrap_or(true);
            let s = database::rights_script(b.str("UserName")?, b.str("DatabaseName")?, windows)
                .map_err(|e| invalid(e.to_string()))?;
            out.insert("Script".into(), Value::String(s));
        }
        Op::GenerateDatabaseUpgradeScript => {
            let s = database::upgrade_script(b.str("DatabaseName")?, b.str("ServerVersion")?)
                .map_err(|e| invalid(e.to_string()))?;
            out.insert("Script".into(), Value::String(s));
        }
        Op::SetDatabaseLogonTimeout => {
            let v = b.i32("LogonTimeout")?;
            ops::set_setting_key(
                dd,
                datadir::SettingKey::DatabaseLogonTimeout,
                &v.to_string(),
            )
            .map_err(op_err(Context::Other))?;
        }
        Op::SetDatabaseQueryTimeout => {
            let v = b.i32("QueryTimeout")?;
            ops::set_setting_key(
                dd,
                datadir::SettingKey::DatabaseQueryTimeout,
                &v.to_string(),
            )
            .map_err(op_err(Context::Other))?;
        }
    }
    Ok(out)
}

fn config(dd: &DataDir) -> Result<datadir::Config, Fail> {
    dd.load_config()
        .map_err(|e| op_err(Context::Other)(e.into()))
}

/// GUIDs compare without braces and case.
fn same_id(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim().trim_matches(['{', '}']).to_ascii_lowercase();
    norm(a) == norm(b)
}

fn machine_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

/// The instance name: the data dir's directory name.
pub fn instance_name(dd: &DataDir) -> String {
    dd.root()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "reportd".into())
}

/// The properties SqlServerDsc and ReportingServicesTools read.
pub fn properties(dd: &DataDir, class: Class) -> crate::Result<Out> {
    let cfg = dd.load_config()?;
    let s = &cfg.settings;
    let running = ops::server_running(dd);
    let version = env!("CARGO_PKG_VERSION");
    let mut out = Out::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("InstanceName", json!(instance_name(dd)));
    put("Version", json!(version));
    put("IsSharePointIntegrated", json!(false));
    match class {
        Class::Instance => {
            put("EditionName", json!("reportd"));
            put("EditionID", json!(0));
        }
        Class::ConfigurationSetting => {
            let repo = Repository::load(dd)?;
            let (server, dbname) = match &s.database_url {
                None => (String::new(), String::new()),
                Some(u) => split_url(u),
            };
            put("InstallationID", json!(s.instance_id));
            put("IsInitialized", json!(s.database_url.is_some()));
            put("IsWindowsServiceEnabled", json!(running));
            put("IsWebServiceEnabled", json!(running));
            put("IsReportManagerEnabled", json!(running));
            put("ServiceName", json!("reportd"));
            put("MachineName", json!(machine_name()));
            put(
                "VirtualDirectoryReportServer",
                json!(repo.vdir(Application::WebService)),
            );
            put(
                "VirtualDirectoryReportManager",
                json!(repo.vdir(Application::Portal)),
            );
            put(
                "SecureConnectionLevel",
                json!(s.get("SecureConnectionLevel")?.parse::<i64>().unwrap_or(0)),
            );
            put(
                "WindowsServiceIdentityActual",
                json!(database::service_account()),
            );
            put(
                "WindowsServiceIdentityConfigured",
                json!(database::service_account()),
            );
            put("DatabaseServerName", json!(server));
            put("DatabaseName", json!(dbname));
            put("DatabaseLogonTimeout", json!(s.database_logon_timeout));
            put("DatabaseQueryTimeout", json!(s.database_query_timeout));
            put("PathName", json!(dd.config_path().display().to_string()));
            put(
                "KeyCheckValue",
                json!(
                    dd.instance_key()
                        .map(|k| datadir::keyfile::check_value(&k[..]))
                        .unwrap_or_default()
                ),
            );
        }
    }
    Ok(out)
}

/// DatabaseServerName and DatabaseName of a catalog URL (never its credentials).
/// `DatabaseServerName` and `DatabaseName` of a database URL (`sqlite` and the file for
/// SQLite); empty when it does not parse.
fn split_url(u: &str) -> (String, String) {
    match datadir::DatabaseUrl::parse(u) {
        Ok(d) => d.server_and_database().unwrap_or_else(|| {
            let file = d.stored().strip_prefix("sqlite:").unwrap_or(d.stored());
            ("sqlite".into(), file.to_owned())
        }),
        Err(_) => (String::new(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_urls() {
        assert!(same_id("{ABC-def}", "abc-DEF"));
        assert!(!same_id("a", "b"));
        assert_eq!(
            split_url("postgres://u:secret@127.0.0.1:5432/ReportServer$RS"),
            ("127.0.0.1:5432".into(), "ReportServer$RS".into())
        );
        assert_eq!(
            split_url("sqlite:catalog.db"),
            ("sqlite".into(), "catalog.db".into())
        );
        let u: UrlReservation = "https://+:8443".parse().unwrap();
        assert_eq!(
            browsable(&u, "ReportServer"),
            "https://localhost:8443/ReportServer"
        );
    }
}
