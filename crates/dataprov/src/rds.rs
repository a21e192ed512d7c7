//! Shared data sources: the definition stored as a catalog `DataSource` item, and
//! `DataSourceReference` resolution.
//!
//! Two file shapes are read (namespace-agnostic): the report designer's `.rds`
//! (`<RptDataSource><ConnectionProperties><Extension>..<ConnectString>..`) and the server's
//! `.rsds` / `DataSourceDefinition` (`<DataSourceDefinition><Extension>..<ConnectString>..
//! <CredentialRetrieval>..`). [`SharedDataSource::to_xml`] writes the `DataSourceDefinition`
//! form `GetDataSourceContents` returns: never a password.
//!
//! Secrets at rest: [`seal_for_storage`] is the one transformation an uploaded definition
//! goes through before it is stored. When it carries a secret (a `<Password>`, a
//! `<UserName>`, or a password inside the connect string) the stored form is a
//! `DataSourceDefinition` whose `<ConnectString>` is redacted, without `<Password>`, plus a
//! `<SealedCredentials>` element: base64 of [`datadir::sealed::seal`] (AES-256-GCM under the
//! instance key) over the full connect string, the user name and the password. Binding the
//! connect string into the sealed value means a sealed blob copied into another definition
//! still only connects where it was meant to. [`open_stored`] reverses it for a run;
//! [`public_definition`] is what may be shown (no password, no sealed value). A
//! `<SealedCredentials>` element in an upload is always discarded.
//!
//! This is the one parser of shared data source files in the workspace (uploads through the
//! portal, the REST API and `reportctl`, runs, `GetDataSourceContents`): it lives here, next
//! to the credential sealing it feeds, rather than in `rdl`, which models report
//! definitions only.
//!
//! Must not: do I/O, or hold a password in anything that is `Debug`-printed or written out.

use std::fmt;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::DataError;

/// The element of a stored definition that holds the sealed credentials (base64).
pub const SEALED_ELEMENT: &str = "SealedCredentials";

/// The first byte of the sealed payload's plaintext.
const PAYLOAD_VERSION: u8 = 1;
/// Marks an absent field in the sealed payload.
const ABSENT: u32 = u32::MAX;

/// How the server obtains credentials for a data source (SSRS's `CredentialRetrieval`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CredentialRetrieval {
    /// No credentials (the connect string says all; e.g. ENTERDATA, SQLite).
    #[default]
    None,
    /// The user is asked when running the report.
    Prompt,
    /// Stored on the server, sealed with the instance key.
    Store,
    /// The server's own identity ("Windows integrated security"). reportd has none to lend:
    /// callers treat it as "no credentials", and the PostgreSQL provider then requires a user
    /// in the connect string (it never uses the server account's environment or `.pgpass`).
    Integrated,
}

impl CredentialRetrieval {
    /// SSRS's spelling: `None`, `Prompt`, `Store`, `Integrated`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialRetrieval::None => "None",
            CredentialRetrieval::Prompt => "Prompt",
            CredentialRetrieval::Store => "Store",
            CredentialRetrieval::Integrated => "Integrated",
        }
    }
}

/// A shared data source definition. `Debug` never shows the password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SharedDataSource {
    /// The data extension (`SQLITE`, `POSTGRESQL`, ...).
    pub extension: String,
    /// The connect string.
    pub connect_string: String,
    /// How credentials are obtained.
    pub credential_retrieval: CredentialRetrieval,
    /// The stored user name (`Store`).
    pub user_name: Option<String>,
    /// A password found in the uploaded file (`Store`): the caller seals it and drops it.
    pub password: Option<Zeroizing<String>>,
    /// The prompt text (`Prompt`).
    pub prompt: Option<String>,
    /// `WindowsCredentials` (kept for round trips; reportd has no Windows logons).
    pub windows_credentials: bool,
    /// `Enabled`: a disabled data source fails every report that uses it.
    pub enabled: bool,
}

impl fmt::Debug for SharedDataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedDataSource")
            .field("extension", &self.extension)
            .field(
                "connect_string",
                &crate::connstr::redact(&self.connect_string),
            )
            .field("credential_retrieval", &self.credential_retrieval)
            .field("user_name", &self.user_name)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("prompt", &self.prompt)
            .field("windows_credentials", &self.windows_credentials)
            .field("enabled", &self.enabled)
            .finish()
    }
}

fn bad(message: impl Into<String>) -> DataError {
    DataError::DataSourceDefinition {
        message: message.into(),
    }
}

fn child_text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
        .map(|n| n.text().unwrap_or(""))
}

/// The boolean child `name` of `node` (`true`/`false`, any case), `default` when absent;
/// anything else is an error naming the element.
fn parse_bool(node: roxmltree::Node<'_, '_>, name: &str, default: bool) -> Result<bool, DataError> {
    match child_text(node, name).map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(bad(format!(
            "<{name}> is '{v}', not a boolean; write true or false"
        ))),
    }
}

/// Parses an `.rds` or `.rsds` file. A `<SealedCredentials>` element is ignored (see
/// [`open_stored`]).
pub fn parse(bytes: &[u8]) -> Result<SharedDataSource, DataError> {
    parse_with_sealed(bytes).map(|(ds, _)| ds)
}

/// Parses the definition and returns the text of its `<SealedCredentials>`, if any.
fn parse_with_sealed(bytes: &[u8]) -> Result<(SharedDataSource, Option<String>), DataError> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the file is not UTF-8 text"))?;
    let text = text.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).map_err(|e| bad(format!("not XML ({e})")))?;
    let sealed = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == SEALED_ELEMENT)
        .map(|n| n.text().unwrap_or("").to_string());
    parse_root(doc.root_element()).map(|ds| (ds, sealed))
}

fn parse_root(root: roxmltree::Node<'_, '_>) -> Result<SharedDataSource, DataError> {
    match root.tag_name().name() {
        "RptDataSource" => {
            let props = root
                .children()
                .find(|n| n.is_element() && n.tag_name().name() == "ConnectionProperties")
                .ok_or_else(|| bad("<RptDataSource> has no <ConnectionProperties>"))?;
            let extension = child_text(props, "Extension")
                .or_else(|| child_text(props, "DataProvider"))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad("<ConnectionProperties> has no <Extension>"))?;
            let integrated = parse_bool(props, "IntegratedSecurity", false)?;
            let prompt = child_text(props, "Prompt").map(str::to_string);
            Ok(SharedDataSource {
                extension: extension.to_string(),
                connect_string: child_text(props, "ConnectString").unwrap_or("").to_string(),
                credential_retrieval: if integrated {
                    CredentialRetrieval::Integrated
                } else if prompt.is_some() {
                    CredentialRetrieval::Prompt
                } else {
                    CredentialRetrieval::None
                },
                prompt,
                enabled: true,
                ..SharedDataSource::default()
            })
        }
        "DataSourceDefinition" => {
            let extension = child_text(root, "Extension")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad("<DataSourceDefinition> has no <Extension>"))?;
            let cr = match child_text(root, "CredentialRetrieval").map(str::trim) {
                None | Some("") | Some("None") => CredentialRetrieval::None,
                Some("Prompt") => CredentialRetrieval::Prompt,
                Some("Store") => CredentialRetrieval::Store,
                Some("Integrated") => CredentialRetrieval::Integrated,
                Some(other) => {
                    return Err(bad(format!(
                        "CredentialRetrieval '{other}' is not one of None, Prompt, Store, \
                         Integrated"
                    )));
                }
            };
            Ok(SharedDataSource {
                extension: extension.to_string(),
                connect_string: child_text(root, "ConnectString").unwrap_or("").to_string(),
                credential_retrieval: cr,
                user_name: child_text(root, "UserName")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                password: child_text(root, "Password")
                    .filter(|s| !s.is_empty())
                    .map(|s| Zeroizing::new(s.to_string())),
                prompt: child_text(root, "Prompt").map(str::to_string),
                windows_credentials: parse_bool(root, "WindowsCredentials", false)?,
                enabled: parse_bool(root, "Enabled", true)?,
            })
        }
        other => Err(bad(format!(
            "the root element is <{other}>; a shared data source is an .rds \
             (<RptDataSource>) or .rsds (<DataSourceDefinition>) file"
        ))),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

impl SharedDataSource {
    /// The `DataSourceDefinition` XML (SSRS's `.rsds` / `GetDataSourceContents`): extension,
    /// connect string with passwords replaced by `***`, credential mode, user name, prompt.
    /// Never the password.
    pub fn to_xml(&self) -> String {
        self.write(None)
    }

    /// The credentials a run connects with: the stored user name and password, when the
    /// definition has either (they override a user/password in the connect string).
    pub fn credentials(&self) -> Option<crate::Credentials> {
        if self.user_name.is_none() && self.password.is_none() {
            return None;
        }
        Some(crate::Credentials {
            user: self.user_name.clone().unwrap_or_default(),
            password: self.password.clone().unwrap_or_default(),
        })
    }

    /// [`Self::to_xml`], plus the sealed credentials when given.
    fn write(&self, sealed: Option<&str>) -> String {
        let mut x = String::from(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<DataSourceDefinition \
             xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource\">\n",
        );
        let mut el = |name: &str, value: &str| {
            x.push_str(&format!("  <{name}>{}</{name}>\n", escape(value)));
        };
        el("Extension", &self.extension);
        el(
            "ConnectString",
            &crate::connstr::redact(&self.connect_string),
        );
        el("CredentialRetrieval", self.credential_retrieval.as_str());
        if let Some(u) = &self.user_name {
            el("UserName", u);
        }
        if let Some(p) = &self.prompt {
            el("Prompt", p);
        }
        el(
            "WindowsCredentials",
            if self.windows_credentials {
                "True"
            } else {
                "False"
            },
        );
        el("Enabled", if self.enabled { "True" } else { "False" });
        if let Some(b64) = sealed {
            el(SEALED_ELEMENT, b64);
        }
        x.push_str("</DataSourceDefinition>\n");
        x
    }
}

fn stored_error(message: impl Into<String>) -> DataError {
    DataError::StoredCredentials {
        message: message.into(),
    }
}

/// Prepares an uploaded `.rds`/`.rsds` for the catalog (every upload path calls this): the
/// definition must parse; when it carries a secret (a user name, a password, or a password
/// in the connect string) the result is the `DataSourceDefinition` form with the connect
/// string redacted, no `<Password>`, and the secrets sealed under `instance_key` in
/// `<SealedCredentials>`. A definition without secrets is stored as uploaded (a
/// `<SealedCredentials>` it brings is dropped: only this server seals).
///
/// # Errors
/// [`DataError::DataSourceDefinition`] for a file that is not a shared data source;
/// [`DataError::StoredCredentials`] when the instance key cannot seal.
pub fn seal_for_storage(bytes: &[u8], instance_key: &[u8]) -> Result<Vec<u8>, DataError> {
    let (mut ds, incoming) = parse_with_sealed(bytes)?;
    let connect_string = Zeroizing::new(std::mem::take(&mut ds.connect_string));
    let redacted = crate::connstr::redact(&connect_string);
    let secret_in_connect_string = redacted != *connect_string;
    if !secret_in_connect_string && ds.user_name.is_none() && ds.password.is_none() {
        if incoming.is_none() {
            return Ok(bytes.to_vec());
        }
        ds.connect_string = connect_string.to_string();
        return Ok(ds.write(None).into_bytes());
    }
    let payload = encode_payload(
        &connect_string,
        ds.user_name.as_deref(),
        ds.password.as_ref().map(|p| p.as_str()),
    );
    let sealed =
        datadir::sealed::seal(instance_key, &payload).map_err(|e| stored_error(e.to_string()))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(sealed);
    ds.password = None;
    ds.connect_string = redacted;
    Ok(ds.write(Some(&b64)).into_bytes())
}

/// Reads a stored definition for a run: its sealed credentials (if any) opened with
/// `instance_key` put the full connect string, the user name and the password back. A
/// definition stored before sealing existed is read as it is.
///
/// # Errors
/// [`DataError::DataSourceDefinition`] for a definition that does not parse;
/// [`DataError::StoredCredentials`] when the sealed value was changed, was sealed with
/// another instance key, or is not in the format this server writes.
pub fn open_stored(bytes: &[u8], instance_key: &[u8]) -> Result<SharedDataSource, DataError> {
    let (mut ds, sealed) = parse_with_sealed(bytes)?;
    let Some(b64) = sealed else {
        return Ok(ds);
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| {
            stored_error(
                "the sealed value is not base64, so it was changed; upload the data source \
                 again with its credentials",
            )
        })?;
    let plain =
        datadir::sealed::open(instance_key, &raw).map_err(|e| stored_error(e.to_string()))?;
    let (connect_string, user, password) = decode_payload(&plain).ok_or_else(|| {
        stored_error(
            "the sealed value is not in the format this server writes; upload the data \
             source again with its credentials",
        )
    })?;
    ds.connect_string = connect_string;
    ds.user_name = user;
    ds.password = password.map(Zeroizing::new);
    Ok(ds)
}

/// What may be shown of a stored definition (`GetDataSourceContents`, downloads, the REST
/// API's content): the `DataSourceDefinition` XML with the connect string's passwords
/// redacted, never the password or the sealed value.
///
/// # Errors
/// [`DataError::DataSourceDefinition`] for a definition that does not parse.
pub fn public_definition(bytes: &[u8]) -> Result<String, DataError> {
    parse(bytes).map(|ds| ds.to_xml())
}

/// `version || (len u32 BE || bytes){connect string, user, password}`; an absent field has
/// the length [`ABSENT`]. Zeroized when dropped.
fn encode_payload(
    connect_string: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(
        1 + 12 + connect_string.len() + user.map_or(0, str::len) + password.map_or(0, str::len),
    ));
    out.push(PAYLOAD_VERSION);
    for field in [Some(connect_string), user, password] {
        match field {
            // Definitions are bounded by the upload limit, far below 4 GiB; a longer field
            // is cut to what the length can say rather than written wrongly.
            Some(f) => {
                let len = u32::try_from(f.len()).unwrap_or(ABSENT - 1);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&f.as_bytes()[..len as usize]);
            }
            None => out.extend_from_slice(&ABSENT.to_be_bytes()),
        }
    }
    out
}

type Payload = (String, Option<String>, Option<String>);

fn decode_payload(plain: &[u8]) -> Option<Payload> {
    let (&version, mut rest) = plain.split_first()?;
    if version != PAYLOAD_VERSION {
        return None;
    }
    let mut fields: Vec<Option<String>> = Vec::with_capacity(3);
    for _ in 0..3 {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len);
        if len == ABSENT {
            fields.push(None);
            rest = tail;
            continue;
        }
        let len = usize::try_from(len).ok()?;
        if tail.len() < len {
            return None;
        }
        let (value, tail) = tail.split_at(len);
        fields.push(Some(String::from_utf8(value.to_vec()).ok()?));
        rest = tail;
    }
    if !rest.is_empty() {
        return None;
    }
    let password = fields.pop()?;
    let user = fields.pop()?;
    let connect_string = fields.pop()??;
    Some((connect_string, user, password))
}

/// Resolves a report's `DataSourceReference` against the report's catalog path:
/// `/Sales/Data Sources/Main` stays as it is; `Main` next to `/Sales/Orders` is
/// `/Sales/Main`; `../Shared/Main` goes up one folder. `.` segments are dropped.
pub fn resolve_reference(report_path: &str, reference: &str) -> Result<String, DataError> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(bad(
            "the DataSourceReference is empty; name a shared data source",
        ));
    }
    let mut segments: Vec<&str> = if reference.starts_with('/') {
        Vec::new()
    } else {
        let mut folder: Vec<&str> = report_path.split('/').filter(|s| !s.is_empty()).collect();
        folder.pop(); // the report itself
        folder
    };
    for seg in reference.split('/').filter(|s| !s.is_empty()) {
        match seg {
            "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(bad(format!(
                        "the DataSourceReference '{reference}' goes above the catalog root"
                    )));
                }
            }
            s => segments.push(s),
        }
    }
    if segments.is_empty() {
        return Err(bad(format!(
            "the DataSourceReference '{reference}' names no item"
        )));
    }
    Ok(format!("/{}", segments.join("/")))
}
