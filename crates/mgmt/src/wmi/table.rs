//! The dispatch table of the WMI-named API: each method of `MSReportServer_ConfigurationSetting`
//! and `MSReportServer_Instance` with its input parameters in MOF order and the operation it
//! runs, and the pure binding of named or positional arguments to those parameters.
//!
//! Names match case-insensitively (`ReserveURL` / `ReserveUrl`, `UserName` / `Username`), as
//! WMI does. Nothing here does I/O: [`super::exec`] runs what [`bind`] produced.

use base64::Engine;
use serde_json::Value;

/// The two WMI classes of the SSRS provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    ConfigurationSetting,
    Instance,
}

impl Class {
    pub const ALL: [Class; 2] = [Class::ConfigurationSetting, Class::Instance];

    pub fn name(self) -> &'static str {
        match self {
            Class::ConfigurationSetting => "MSReportServer_ConfigurationSetting",
            Class::Instance => "MSReportServer_Instance",
        }
    }

    /// Accepts the class name in any case; an empty name means the configuration class.
    pub fn parse(s: &str) -> Option<Class> {
        let s = s.trim();
        if s.is_empty() {
            return Some(Class::ConfigurationSetting);
        }
        Class::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
    }
}

/// The CIM type of an input parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Str,
    I32,
    Bool,
    /// `uint8[]`: a JSON array of bytes or a base64 string.
    Bytes,
}

/// One input parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub ty: Ty,
}

const fn p(name: &'static str, ty: Ty) -> Param {
    Param { name, ty }
}

/// What a method does; [`super::exec`] has one arm per variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    SetVirtualDirectory,
    ReserveUrl,
    RemoveUrl,
    ListReservedUrls,
    ListVirtualDirectories,
    CreateSslCertificateBinding,
    RemoveSslCertificateBindings,
    ListSslCertificateBindings,
    ListSslCertificates,
    ListIpAddresses,
    GetReportServerUrls,
    SetSecureConnectionLevel,
    SetServiceState,
    InitializeReportServer,
    ListReportServersInDatabase,
    DeleteEncryptionKey,
    BackupEncryptionKey,
    RestoreEncryptionKey,
    ReencryptSecureInformation,
    DeleteEncryptedInformation,
    SetDatabaseConnection,
    GenerateDatabaseCreationScript,
    GenerateDatabaseRightsScript,
    GenerateDatabaseUpgradeScript,
    SetDatabaseLogonTimeout,
    SetDatabaseQueryTimeout,
    /// Answered `E_NOTIMPL` with this reason.
    NotImplemented(&'static str),
}

/// One method: its class, SSRS name, inputs in MOF order and operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Method {
    pub class: Class,
    pub name: &'static str,
    /// Other accepted spellings (the documentation names one method two ways).
    pub aliases: &'static [&'static str],
    pub params: &'static [Param],
    pub op: Op,
}

use Class::{ConfigurationSetting as C, Instance as I};
use Ty::{Bool, Bytes, I32, Str};

const URL: &[Param] = &[p("Application", Str), p("UrlString", Str), p("Lcid", I32)];
const SSL: &[Param] = &[
    p("Application", Str),
    p("CertificateHash", Str),
    p("IPAddress", Str),
    p("Port", I32),
    p("Lcid", I32),
];
const NO_SUBSCRIPTIONS: &str = "reportd has no subscriptions or e-mail delivery yet, so there is nothing to configure; the call changed nothing";

const fn m(class: Class, name: &'static str, params: &'static [Param], op: Op) -> Method {
    Method {
        class,
        name,
        aliases: &[],
        params,
        op,
    }
}

/// Every method the SSRS automation clients call (design note §4), in the note's order, plus
/// `ListVirtualDirectories`.
pub const METHODS: &[Method] = &[
    m(
        C,
        "SetVirtualDirectory",
        &[
            p("Application", Str),
            p("VirtualDirectory", Str),
            p("Lcid", I32),
        ],
        Op::SetVirtualDirectory,
    ),
    m(C, "ReserveURL", URL, Op::ReserveUrl),
    m(C, "RemoveURL", URL, Op::RemoveUrl),
    m(C, "ListReservedUrls", &[], Op::ListReservedUrls),
    m(C, "ListVirtualDirectories", &[], Op::ListVirtualDirectories),
    m(
        C,
        "CreateSSLCertificateBinding",
        SSL,
        Op::CreateSslCertificateBinding,
    ),
    m(
        C,
        "RemoveSSLCertificateBindings",
        SSL,
        Op::RemoveSslCertificateBindings,
    ),
    m(
        C,
        "ListSSLCertificateBindings",
        &[p("Lcid", I32)],
        Op::ListSslCertificateBindings,
    ),
    m(C, "ListSSLCertificates", &[], Op::ListSslCertificates),
    m(C, "ListIPAddresses", &[], Op::ListIpAddresses),
    m(I, "GetReportServerUrls", &[], Op::GetReportServerUrls),
    m(
        C,
        "SetSecureConnectionLevel",
        &[p("Level", I32)],
        Op::SetSecureConnectionLevel,
    ),
    m(
        C,
        "SetServiceState",
        &[
            p("EnableWindowsService", Bool),
            p("EnableWebService", Bool),
            p("EnableReportManager", Bool),
        ],
        Op::SetServiceState,
    ),
    m(
        C,
        "SetWindowsServiceIdentity",
        &[
            p("UseBuiltInAccount", Bool),
            p("Account", Str),
            p("Password", Str),
        ],
        Op::NotImplemented(
            "reportd runs as the user that starts it (systemd User=); change that user in the service unit, not through this method",
        ),
    ),
    m(
        C,
        "InitializeReportServer",
        &[p("InstallationID", Str)],
        Op::InitializeReportServer,
    ),
    m(
        C,
        "ListReportServersInDatabase",
        &[],
        Op::ListReportServersInDatabase,
    ),
    Method {
        class: C,
        name: "DeleteEncryptionKey",
        aliases: &["DeleteEncryptionKeys"],
        params: &[p("InstallationID", Str)],
        op: Op::DeleteEncryptionKey,
    },
    m(
        C,
        "BackupEncryptionKey",
        &[p("Password", Str)],
        Op::BackupEncryptionKey,
    ),
    m(
        C,
        "RestoreEncryptionKey",
        &[p("KeyFile", Bytes), p("Length", I32), p("Password", Str)],
        Op::RestoreEncryptionKey,
    ),
    m(
        C,
        "ReencryptSecureInformation",
        &[],
        Op::ReencryptSecureInformation,
    ),
    m(
        C,
        "DeleteEncryptedInformation",
        &[],
        Op::DeleteEncryptedInformation,
    ),
    m(
        C,
        "SetDatabaseConnection",
        &[
            p("Server", Str),
            p("DatabaseName", Str),
            p("CredentialsType", I32),
            p("UserName", Str),
            p("Password", Str),
        ],
        Op::SetDatabaseConnection,
    ),
    m(
        C,
        "GenerateDatabaseCreationScript",
        &[
            p("DatabaseName", Str),
            p("Lcid", I32),
            p("IsSharePointMode", Bool),
        ],
        Op::GenerateDatabaseCreationScript,
    ),
    m(
        C,
        "GenerateDatabaseRightsScript",
        &[
            p("UserName", Str),
            p("DatabaseName", Str),
            p("IsRemote", Bool),
            p("IsWindowsUser", Bool),
        ],
        Op::GenerateDatabaseRightsScript,
    ),
    m(
        C,
        "GenerateDatabaseUpgradeScript",
        &[p("DatabaseName", Str), p("ServerVersion", Str)],
        Op::GenerateDatabaseUpgradeScript,
    ),
    m(
        C,
        "SetDatabaseLogonTimeout",
        &[p("LogonTimeout", I32)],
        Op::SetDatabaseLogonTimeout,
    ),
    m(
        C,
        "SetDatabaseQueryTimeout",
        &[p("QueryTimeout", I32)],
        Op::SetDatabaseQueryTimeout,
    ),
    m(
        C,
        "SetUnattendedExecutionAccount",
        &[p("UserName", Str), p("Password", Str)],
        Op::NotImplemented(
            "reportd has no unattended execution account: shared data sources store their own credentials (sealed with the instance key)",
        ),
    ),
    m(
        C,
        "RemoveUnattendedExecutionAccount",
        &[],
        Op::NotImplemented(
            "reportd has no unattended execution account: shared data sources store their own credentials (sealed with the instance key)",
        ),
    ),
    m(
        C,
        "SetEmailConfiguration",
        &[
            p("SendUsingSMTPServer", Bool),
            p("SMTPServer", Str),
            p("SenderEmailAddress", Str),
        ],
        Op::NotImplemented(NO_SUBSCRIPTIONS),
    ),
    m(
        C,
        "SetAuthenticatedEmailConfiguration",
        &[
            p("SendUsingSMTPServer", Bool),
            p("SMTPServer", Str),
            p("SenderEmailAddress", Str),
            p("UserName", Str),
            p("Password", Str),
            p("Authentication", I32),
            p("UseSsl", Bool),
        ],
        Op::NotImplemented(NO_SUBSCRIPTIONS),
    ),
    m(
        C,
        "SavePowerBIInformation",
        &[
            p("ClientId", Str),
            p("ClientSecret", Str),
            p("AppObjectId", Str),
            p("TenantName", Str),
            p("TenantId", Str),
            p("ResourceUrl", Str),
            p("AuthUrl", Str),
            p("TokenUrl", Str),
            p("RedirectUrls", Str),
        ],
        Op::NotImplemented("reportd is not Power BI Report Server and has no Power BI integration"),
    ),
];

/// The method `name` of `class`, any case.
pub fn lookup(class: Class, name: &str) -> Option<&'static Method> {
    let name = name.trim();
    METHODS.iter().find(|mm| {
        mm.class == class
            && (mm.name.eq_ignore_ascii_case(name)
                || mm.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
    })
}

/// Why arguments could not be bound (answered `E_INVALIDARG`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BindError(pub String);

/// A bound input value.
#[derive(Clone, PartialEq, Eq)]
pub enum Arg {
    Str(String),
    I32(i32),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl std::fmt::Debug for Arg {
    /// Never shows strings or bytes: they may be passwords or key files.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Str(s) => write!(f, "Str({} chars)", s.chars().count()),
            Arg::I32(v) => write!(f, "I32({v})"),
            Arg::Bool(v) => write!(f, "Bool({v})"),
            Arg::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
        }
    }
}

/// The inputs of one call: one slot per parameter, in MOF order (None = not passed / null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub method: &'static Method,
    pub values: Vec<Option<Arg>>,
}

/// Arguments as a client sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// `Invoke-CimMethod -Arguments @{...}` (SqlServerDsc).
    Named(serde_json::Map<String, Value>),
    /// `$wmiObject.Method(a, b, c)` (ReportingServicesTools): MOF order.
    Positional(Vec<Value>),
}

/// Binds `args` to the parameters of `method`: names case-insensitively, positions in MOF
/// order, each value converted to its parameter's type.
pub fn bind(method: &'static Method, args: &Args) -> Result<Bound, BindError> {
    let n = method.params.len();
    let mut values: Vec<Option<Arg>> = vec![None; n];
    match args {
        Args::Positional(list) => {
            if list.len() > n {
                return Err(BindError(format!(
                    "{} takes {n} argument(s) ({}), {} were given",
                    method.name,
                    names(method),
                    list.len()
                )));
            }
            for (i, v) in list.iter().enumerate() {
                values[i] = convert(method, &method.params[i], v)?;
            }
        }
        Args::Named(map) => {
            let mut seen = vec![false; n];
            for (k, v) in map {
                let Some(i) = method
                    .params
                    .iter()
                    .position(|pp| pp.name.eq_ignore_ascii_case(k.trim()))
                else {
                    return Err(BindError(format!(
                        "{} has no parameter {k:?}; its parameters are: {}",
                        method.name,
                        if n == 0 {
                            "(none)".into()
                        } else {
                            names(method)
                        }
                    )));
                };
                if seen[i] {
                    return Err(BindError(format!(
                        "parameter {} of {} is given twice",
                        method.params[i].name, method.name
                    )));
                }
                seen[i] = true;
                values[i] = convert(method, &method.params[i], v)?;
            }
        }
    }
    Ok(Bound { method, values })
}

fn names(method: &Method) -> String {
    method
        .params
        .iter()
        .map(|pp| pp.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn convert(method: &Method, param: &Param, v: &Value) -> Result<Option<Arg>, BindError> {
    let bad = |want: &str| {
        BindError(format!(
            "parameter {} of {} must be {want}",
            param.name, method.name
        ))
    };
    if v.is_null() {
        return Ok(None);
    }
    Ok(Some(match param.ty {
        Ty::Str => match v {
            Value::String(s) => Arg::Str(s.clone()),
            Value::Number(x) => Arg::Str(x.to_string()),
            Value::Bool(b) => Arg::Str(b.to_string()),
            _ => return Err(bad("a string")),
        },
        Ty::I32 => {
            let x = match v {
                Value::Number(x) => x.as_i64(),
                Value::String(s) => parse_int(s),
                Value::Bool(b) => Some(i64::from(*b)),
                _ => None,
            };
            Arg::I32(
                x.and_then(|x| i32::try_from(x).ok())
                    .ok_or_else(|| bad("a 32-bit integer"))?,
            )
        }
        Ty::Bool => Arg::Bool(match v {
            Value::Bool(b) => *b,
            Value::Number(x) => x.as_i64().ok_or_else(|| bad("true or false"))? != 0,
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "$true" | "1" | "yes" => true,
                "false" | "$false" | "0" | "no" | "" => false,
                _ => return Err(bad("true or false")),
            },
            _ => return Err(bad("true or false")),
        }),
        Ty::Bytes => Arg::Bytes(match v {
            Value::String(s) => base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|_| bad("bytes (base64 or an array of 0-255)"))?,
            Value::Array(a) => a
                .iter()
                .map(|e| e.as_u64().and_then(|x| u8::try_from(x).ok()))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| bad("bytes (base64 or an array of 0-255)"))?,
            _ => return Err(bad("bytes (base64 or an array of 0-255)")),
        }),
    }))
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

impl Bound {
    fn slot(&self, name: &str) -> Option<&Arg> {
        let i = self
            .method
            .params
            .iter()
            .position(|pp| pp.name.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("{} has no parameter {name}", self.method.name));
        self.values[i].as_ref()
    }
    fn missing(&self, name: &str) -> BindError {
        BindError(format!("{} needs the parameter {name}", self.method.name))
    }
    /// A string parameter that must be given.
    pub fn str(&self, name: &str) -> Result<&str, BindError> {
        self.opt_str(name).ok_or_else(|| self.missing(name))
    }
    /// A string parameter, None when not given.
    pub fn opt_str(&self, name: &str) -> Option<&str> {
        match self.slot(name) {
            Some(Arg::Str(s)) => Some(s),
            _ => None,
        }
    }
    pub fn i32(&self, name: &str) -> Result<i32, BindError> {
        self.opt_i32(name).ok_or_else(|| self.missing(name))
    }
    pub fn opt_i32(&self, name: &str) -> Option<i32> {
        match self.slot(name) {
            Some(Arg::I32(v)) => Some(*v),
            _ => None,
        }
    }
    pub fn bool(&self, name: &str) -> Result<bool, BindError> {
        match self.slot(name) {
            Some(Arg::Bool(v)) => Ok(*v),
            _ => Err(self.missing(name)),
        }
    }
    pub fn bytes(&self, name: &str) -> Result<&[u8], BindError> {
        match self.slot(name) {
            Some(Arg::Bytes(v)) => Ok(v),
            _ => Err(self.missing(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn named(v: Value) -> Args {
        Args::Named(v.as_object().unwrap().clone())
    }

    #[test]
    fn names_match_in_any_case_and_aliases_resolve() {
        let a = lookup(C, "ReserveUrl").unwrap();
        assert_eq!(a.name, "ReserveURL");
        assert_eq!(lookup(C, "reserveurl").unwrap().name, "ReserveURL");
        assert_eq!(
            lookup(C, "DeleteEncryptionKeys").unwrap().name,
            "DeleteEncryptionKey"
        );
        assert_eq!(lookup(I, "GetReportServerUrls").unwrap().class, I);
        assert!(lookup(I, "ReserveURL").is_none(), "wrong class");
        assert!(lookup(C, "NoSuchMethod").is_none());
        assert_eq!(
            Class::parse("msreportserver_instance"),
            Some(Class::Instance)
        );
        assert_eq!(Class::parse(""), Some(Class::ConfigurationSetting));
        assert_eq!(Class::parse("Win32_Service"), None);
    }

    #[test]
    fn named_and_positional_forms_bind_the_same() {
        let mm = lookup(C, "ReserveUrl").unwrap();
        let by_name = bind(
            mm,
            &named(json!({"lcid": 1033, "APPLICATION": "ReportServerWebService", "UrlString": "http://+:80"})),
        )
        .unwrap();
        let by_pos = bind(
            mm,
            &Args::Positional(vec![
                json!("ReportServerWebService"),
                json!("http://+:80"),
                json!("1033"),
            ]),
        )
        .unwrap();
        assert_eq!(by_name, by_pos);
        assert_eq!(by_name.str("UrlString").unwrap(), "http://+:80");
        assert_eq!(by_name.i32("Lcid").unwrap(), 1033);
    }

    #[test]
    fn values_convert_to_their_types() {
        let mm = lookup(C, "GenerateDatabaseRightsScript").unwrap();
        let b = bind(
            mm,
            &Args::Positional(vec![
                json!("svc"),
                json!("ReportServer$RS"),
                json!("False"),
                json!(true),
            ]),
        )
        .unwrap();
        assert!(!b.bool("IsRemote").unwrap());
        assert!(b.bool("IsWindowsUser").unwrap());
        let r = lookup(C, "RestoreEncryptionKey").unwrap();
        let x = bind(r, &named(json!({"KeyFile": [1, 2, 255], "Length": 3}))).unwrap();
        assert_eq!(x.bytes("KeyFile").unwrap(), &[1, 2, 255]);
        let y = bind(r, &Args::Positional(vec![json!("AQL/"), json!(3)])).unwrap();
        assert_eq!(y.bytes("KeyFile").unwrap(), &[1, 2, 255]);
        assert!(y.opt_str("Password").is_none(), "not passed");
        assert_eq!(
            bind(
                lookup(C, "SetSecureConnectionLevel").unwrap(),
                &named(json!({"Level": "0x1"}))
            )
            .unwrap()
            .i32("Level")
            .unwrap(),
            1
        );
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        let mm = lookup(C, "ReserveURL").unwrap();
        let e = bind(mm, &named(json!({"Url": "x"}))).unwrap_err().0;
        assert!(
            e.contains("no parameter \"Url\"") && e.contains("UrlString"),
            "{e}"
        );
        let e = bind(mm, &named(json!({"lcid": 1, "LCID": 2})))
            .unwrap_err()
            .0;
        assert!(e.contains("twice"), "{e}");
        let e = bind(mm, &Args::Positional(vec![json!(1); 4]))
            .unwrap_err()
            .0;
        assert!(e.contains("takes 3"), "{e}");
        let e = bind(
            mm,
            &Args::Positional(vec![json!("a"), json!("b"), json!("x")]),
        )
        .unwrap_err()
        .0;
        assert!(e.contains("Lcid") && e.contains("integer"), "{e}");
        let empty = bind(mm, &Args::Positional(vec![])).unwrap();
        let e = empty.str("Application").unwrap_err().0;
        assert!(e.contains("needs the parameter Application"), "{e}");
        let dbg = format!(
            "{:?}",
            bind(
                lookup(C, "BackupEncryptionKey").unwrap(),
                &Args::Positional(vec![json!("hunter2hunter2")])
            )
            .unwrap()
        );
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, a) in METHODS.iter().enumerate() {
            for b in &METHODS[i + 1..] {
                assert!(
                    a.class != b.class || !a.name.eq_ignore_ascii_case(b.name),
                    "{} twice",
                    a.name
                );
            }
            for (j, pa) in a.params.iter().enumerate() {
                assert!(
                    !a.params[j + 1..]
                        .iter()
                        .any(|pb| pb.name.eq_ignore_ascii_case(pa.name)),
                    "{}.{}",
                    a.name,
                    pa.name
                );
            }
        }
        // The 31 methods the clients call, plus ListVirtualDirectories.
        assert_eq!(METHODS.len(), 32);
    }
}
