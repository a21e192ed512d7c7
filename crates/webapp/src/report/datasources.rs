//! A report's data sources at run time: embedded `<ConnectionProperties>` and shared data
//! sources (`<DataSourceReference>`, resolved through the catalog relative to the report's
//! folder, as SSRS does), turned into `dataprov` connections and run with the limits of the
//! server's settings (`DataSourceDirectories`, `MaxReportRows`, the query timeout).
//!
//! Owns: the resolution, the [`dataprov::Limits`] built from settings, opening a stored
//! definition's sealed credentials with the instance key for a run
//! ([`dataprov::rds::open_stored`]), and the one place that serves a data source's
//! contents ([`public_contents`]: `rs:Command=GetDataSourceContents`, portal downloads, the
//! REST API's `Content`; never the password or the sealed value). Must not: render, log a
//! credential, or open any file itself (SQLite files are opened by `dataprov`, which checks
//! the directory allow-list).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use catalog::{ItemPath, ItemType};
use datadir::Settings;
use dataprov::rds::CredentialRetrieval;
use engine::QueryRequest;
use http::StatusCode;

use super::ReportError;
use crate::auth::Session;

/// What the user typed for one data source (`dsu:`/`dsp:`).
#[derive(Clone, Default, PartialEq, Eq)]
struct Given {
    user: Option<String>,
    password: Option<zeroize::Zeroizing<String>>,
}

/// Credentials the user gave for data sources whose `CredentialRetrieval` is `Prompt`
/// (SSRS's `dsu:<DataSourceName>=user&dsp:<DataSourceName>=password`), by the report's data
/// source name (case-insensitive). `Debug` shows the names only; passwords are zeroized on
/// drop and never logged or written into a page.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Credentials {
    given: Arc<HashMap<String, Given>>,
    /// The embedded data sources of the report being run that prompt: name (lower case).
    embedded_prompts: Arc<Vec<String>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("data_sources", &self.given.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Records `dsu:` (`password` false) or `dsp:` (`password` true) for `name`.
    pub(crate) fn set(&mut self, name: &str, value: String, password: bool) {
        let g = Arc::make_mut(&mut self.given)
            .entry(name.to_lowercase())
            .or_default();
        if password {
            g.password = Some(zeroize::Zeroizing::new(value));
        } else {
            g.user = Some(value);
        }
    }

    /// True when no credentials were given.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.given.is_empty()
    }

    /// These credentials for a run of `c`: they apply to its shared data sources that
    /// prompt, and to its embedded data sources that declare a `<Prompt>`.
    pub(crate) fn for_report(&self, c: &engine::Compiled) -> Credentials {
        let embedded_prompts = c
            .report
            .data_sources
            .iter()
            .filter(|d| {
                matches!(&d.kind, rdl::model::DataSourceKind::Embedded(p) if p.prompt.is_some())
            })
            .map(|d| d.name.to_lowercase())
            .collect();
        Credentials {
            given: self.given.clone(),
            embedded_prompts: Arc::new(embedded_prompts),
        }
    }

    /// The credentials for the data source `name`, when a user name or password was given.
    fn get(&self, name: &str) -> Option<dataprov::Credentials> {
        let g = self.given.get(&name.to_lowercase())?;
        Some(dataprov::Credentials {
            user: g.user.clone().unwrap_or_default(),
            password: g.password.clone().unwrap_or_default(),
        })
    }
}

/// A data source of a report that prompts for credentials: its name in the report and the
/// prompt text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Prompted {
    pub name: String,
    pub prompt: String,
}

/// SSRS's prompt when the definition has none.
const DEFAULT_PROMPT: &str = "Enter a user name and password to access the data source";

/// The data sources of `c` (at `report`) that prompt for credentials, in report order.
/// A shared data source that cannot be loaded is left out (its run gives the error).
pub(crate) async fn prompted(
    session: &Session,
    report: &ItemPath,
    c: &engine::Compiled,
) -> Vec<Prompted> {
    let mut out = Vec::new();
    for d in &c.report.data_sources {
        let prompt = match &d.kind {
            rdl::model::DataSourceKind::Embedded(p) => p.prompt.clone(),
            rdl::model::DataSourceKind::Reference(r) => {
                let Ok(path) = reference_path(report, r) else {
                    continue;
                };
                let Ok(bytes) = stored_bytes(session, &path).await else {
                    continue;
                };
                match dataprov::rds::parse(&bytes) {
                    Ok(ds) if ds.credential_retrieval == CredentialRetrieval::Prompt => {
                        Some(ds.prompt.clone().unwrap_or_default())
                    }
                    _ => None,
                }
            }
        };
        if let Some(p) = prompt {
            let p = p.trim();
            out.push(Prompted {
                name: d.name.clone(),
                prompt: if p.is_empty() { DEFAULT_PROMPT } else { p }.to_owned(),
            });
        }
    }
    out
}

/// The error of a run that needs credentials for `name` and was given none.
pub(crate) fn credentials_missing(name: &str, prompt: Option<&str>) -> ReportError {
    let prompt = prompt
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!(" (\"{p}\")"))
        .unwrap_or_default();
    ReportError::new(
        StatusCode::BAD_REQUEST,
        CREDENTIALS_NOT_SPECIFIED,
        format!(
            "the data source '{name}' prompts for credentials{prompt} and none were given; \
             enter a user name and password for '{name}' (URL access: \
             dsu:{name}=USER&dsp:{name}=PASSWORD)"
        ),
    )
}

/// SSRS's code for a prompted data source run without credentials.
pub(crate) const CREDENTIALS_NOT_SPECIFIED: &str = "rsCredentialsNotSpecified";

/// The `dataprov` limits of one execution, from the settings.
pub(crate) fn limits(settings: &Settings) -> dataprov::Limits {
    let dirs = settings
        .data_source_directories
        .split(':')
        .map(str::trim)
        .filter(|d| d.starts_with('/'))
        .map(PathBuf::from)
        .collect();
    dataprov::Limits {
        max_rows: settings.max_report_rows.max(1) as usize,
        default_timeout: Duration::from_secs(u64::from(settings.database_query_timeout.max(1))),
        allowed_sqlite_dirs: dirs,
        ..dataprov::Limits::default()
    }
}

/// The path a `DataSourceReference` names: absolute as written, else relative to the
/// report's folder.
pub(crate) fn reference_path(report: &ItemPath, reference: &str) -> Result<ItemPath, ReportError> {
    let r = reference.trim();
    let full = if r.starts_with('/') {
        r.to_owned()
    } else {
        let folder = report.parent().unwrap_or_else(ItemPath::root);
        if folder.is_root() {
            format!("/{r}")
        } else {
            format!("{}/{r}", folder.as_str())
        }
    };
    ItemPath::parse(&full).map_err(|e| {
        ReportError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rsInvalidDataSourceReference",
            format!("the data source reference '{reference}' is not a valid catalog path: {e}"),
        )
    })
}

/// Loads the stored definition of the shared data source at `path` (404-like 422 when it
/// is missing or not a data source).
async fn stored_bytes(session: &Session, path: &ItemPath) -> Result<Vec<u8>, ReportError> {
    let item = session
        .catalog
        .get_item(path)
        .await
        .map_err(ReportError::catalog)?;
    match item {
        Some(i) if i.item_type == ItemType::DataSource => {}
        Some(i) => {
            return Err(ReportError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rsInvalidDataSourceReference",
                format!(
                    "the data source reference '{path}' names a {}, not a data source",
                    i.item_type
                ),
            ));
        }
        None => {
            return Err(ReportError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rsInvalidDataSourceReference",
                format!(
                    "the shared data source '{path}' that the report refers to does not exist; upload it or change the report's DataSourceReference"
                ),
            ));
        }
    }
    session
        .catalog
        .get_content(path)
        .await
        .map_err(ReportError::catalog)
}

/// A definition that cannot be read, as the error page says it.
fn definition_error(path: &ItemPath, e: &dataprov::DataError) -> ReportError {
    let code = match e {
        dataprov::DataError::StoredCredentials { .. } => "rsInvalidDataSourceCredentialSetting",
        _ => "rsInvalidDataSourceDefinition",
    };
    ReportError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        format!("the shared data source '{path}' cannot be used: {e}"),
    )
}

/// The contents of the data source at `path` as they may be shown: the
/// `DataSourceDefinition` without the password or the sealed credentials.
pub(crate) async fn public_contents(
    session: &Session,
    path: &ItemPath,
) -> Result<String, ReportError> {
    let bytes = stored_bytes(session, path).await?;
    dataprov::rds::public_definition(&bytes).map_err(|e| definition_error(path, &e))
}

/// Loads the shared data source at `path` for a run, its sealed credentials opened with
/// `instance_key`.
pub(crate) async fn shared(
    session: &Session,
    path: &ItemPath,
    instance_key: &[u8],
) -> Result<dataprov::rds::SharedDataSource, ReportError> {
    let bytes = stored_bytes(session, path).await?;
    let ds =
        dataprov::rds::open_stored(&bytes, instance_key).map_err(|e| definition_error(path, &e))?;
    if !ds.enabled {
        return Err(ReportError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rsDataSourceDisabled",
            format!("the shared data source '{path}' is disabled; enable it to run the report"),
        ));
    }
    Ok(ds)
}

/// The connection a query runs on. A data source that prompts takes the credentials the
/// user gave for it, and fails naming it when there are none.
async fn connection(
    session: &Session,
    report: &ItemPath,
    q: &QueryRequest,
    instance_key: &[u8],
    creds: &Credentials,
) -> Result<dataprov::Connection, ReportError> {
    if let Some(r) = &q.data_source_reference {
        let path = reference_path(report, r)?;
        let ds = shared(session, &path, instance_key).await?;
        // The password lives in `ds` (zeroized on drop) and in the connection (likewise)
        // until the query has run.
        let credentials = if ds.credential_retrieval == CredentialRetrieval::Prompt {
            Some(
                creds
                    .get(&q.data_source)
                    .ok_or_else(|| credentials_missing(&q.data_source, ds.prompt.as_deref()))?,
            )
        } else {
            ds.credentials()
        };
        return Ok(dataprov::Connection {
            extension: ds.extension.clone(),
            connect_string: ds.connect_string.clone(),
            credentials,
        });
    }
    let credentials = if creds
        .embedded_prompts
        .contains(&q.data_source.to_lowercase())
    {
        Some(
            creds
                .get(&q.data_source)
                .ok_or_else(|| credentials_missing(&q.data_source, None))?,
        )
    } else {
        None
    };
    Ok(dataprov::Connection {
        extension: q.data_provider.clone().unwrap_or_default(),
        connect_string: q.connect_string.clone().unwrap_or_default(),
        credentials,
    })
}

/// Runs one query; its rows are the engine's table as the provider filled it.
pub(crate) async fn run(
    registry: &dataprov::Registry,
    instance_key: &[u8],
    session: &Session,
    report: &ItemPath,
    q: &QueryRequest,
    limits: &dataprov::Limits,
    creds: &Credentials,
) -> Result<Arc<engine::DataTable>, ReportError> {
    let conn = connection(session, report, q, instance_key, creds).await?;
    let query = dataprov::Query {
        command_text: q.command_text.clone(),
        command_type: match q.command_type {
            rdl::model::CommandType::Text => dataprov::CommandType::Text,
            rdl::model::CommandType::StoredProcedure => dataprov::CommandType::StoredProcedure,
            rdl::model::CommandType::TableDirect => dataprov::CommandType::TableDirect,
        },
        timeout: q.timeout.map(|s| Duration::from_secs(u64::from(s))),
        fields: q
            .fields
            .iter()
            .map(|f| dataprov::FieldHint {
                name: f.name.clone(),
                data_field: f.data_field.clone(),
                type_name: f.type_name.clone(),
            })
            .collect(),
    };
    let params: Vec<dataprov::BoundParam> = q
        .params
        .iter()
        .map(|(name, value)| dataprov::BoundParam {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    let t = registry
        .execute(&conn, &query, &params, limits)
        .await
        .map_err(|e| ReportError::data(&q.dataset, &e))?;
    // the rows were decoded straight into the engine's table: handed over as they are
    Ok(Arc::new(t.table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_against_the_report_folder() {
        let report = ItemPath::parse("/Sales/Q1/Totals").unwrap();
        assert_eq!(
            reference_path(&report, "Shared").unwrap().as_str(),
            "/Sales/Q1/Shared"
        );
        assert_eq!(
            reference_path(&report, "/Data/Main").unwrap().as_str(),
            "/Data/Main"
        );
        let top = ItemPath::parse("/Totals").unwrap();
        assert_eq!(reference_path(&top, "DS").unwrap().as_str(), "/DS");
        assert!(reference_path(&report, "../../etc").is_err());
    }

    #[test]
    fn limits_take_only_absolute_directories() {
        let mut s = Settings::new("x".into());
        s.data_source_directories = "/srv/data:relative:/opt/r".into();
        s.max_report_rows = 10;
        let l = limits(&s);
        assert_eq!(
            l.allowed_sqlite_dirs,
            vec![PathBuf::from("/srv/data"), PathBuf::from("/opt/r")]
        );
        assert_eq!(l.max_rows, 10);
    }
}
