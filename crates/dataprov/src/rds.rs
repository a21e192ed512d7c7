//! Shared data sources: the definition stored as a catalog `DataSource` item, and
//! `DataSourceReference` resolution.
//!
//! Two file shapes are read (namespace-agnostic): the report designer's `.rds`
//! (`<RptDataSource><ConnectionProperties><Extension>..<ConnectString>..`) and the server's
//! `.rsds` / `DataSourceDefinition` (`<DataSourceDefinition><Extension>..<ConnectString>..
//! <CredentialRetrieval>..`). [`SharedDataSource::to_xml`] writes the `DataSourceDefinition`
//! form `GetDataSourceContents` returns: never a password. Must not: do I/O or hold a
//! password in anything that is `Debug`-printed or written out.

use std::fmt;

use zeroize::Zeroizing;

use crate::DataError;

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

fn parse_bool(s: Option<&str>, default: bool) -> bool {
    match s.map(|s| s.trim().to_ascii_lowercase()) {
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        _ => default,
    }
}

/// Parses an `.rds` or `.rsds` file.
pub fn parse(bytes: &[u8]) -> Result<SharedDataSource, DataError> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the file is not UTF-8 text"))?;
    let text = text.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).map_err(|e| bad(format!("not XML ({e})")))?;
    let root = doc.root_element();
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
            let integrated = parse_bool(child_text(props, "IntegratedSecurity"), false);
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
                windows_credentials: parse_bool(child_text(root, "WindowsCredentials"), false),
                enabled: parse_bool(child_text(root, "Enabled"), true),
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
        x.push_str("</DataSourceDefinition>\n");
        x
    }
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
