//! A report's data sources at run time: embedded `<ConnectionProperties>` and shared data
//! sources (`<DataSourceReference>`, resolved through the catalog relative to the report's
//! folder, as SSRS does), turned into `dataprov` connections and run with the limits of the
//! server's settings (`DataSourceDirectories`, `MaxReportRows`, the query timeout).
//!
//! Owns: the resolution, the [`dataprov::Limits`] built from settings, and the data source
//! definition shown by `rs:Command=GetDataSourceContents` (never a secret: connect-string
//! passwords are redacted). Must not: render, or open any file itself (SQLite files are
//! opened by `dataprov`, which checks the directory allow-list).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use catalog::{ItemPath, ItemType};
use datadir::Settings;
use engine::QueryRequest;
use http::StatusCode;

use super::ReportError;
use crate::auth::Session;

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

/// Loads and parses the shared data source at `path`.
pub(crate) async fn shared(
    session: &Session,
    path: &ItemPath,
) -> Result<rdl::model::SharedDataSource, ReportError> {
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
    let bytes = session
        .catalog
        .get_content(path)
        .await
        .map_err(ReportError::catalog)?;
    let ds = rdl::parse::parse_data_source(&bytes).map_err(|e| {
        ReportError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rsInvalidDataSourceDefinition",
            format!("the shared data source '{path}' is not valid: {e}"),
        )
    })?;
    if !ds.enabled {
        return Err(ReportError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rsDataSourceDisabled",
            format!("the shared data source '{path}' is disabled; enable it to run the report"),
        ));
    }
    Ok(ds)
}

/// The connection a query runs on.
async fn connection(
    session: &Session,
    report: &ItemPath,
    q: &QueryRequest,
) -> Result<dataprov::Connection, ReportError> {
    if let Some(r) = &q.data_source_reference {
        let path = reference_path(report, r)?;
        let ds = shared(session, &path).await?;
        return Ok(dataprov::Connection {
            extension: ds.extension,
            connect_string: ds.connect_string,
            credentials: None,
        });
    }
    Ok(dataprov::Connection {
        extension: q.data_provider.clone().unwrap_or_default(),
        connect_string: q.connect_string.clone().unwrap_or_default(),
        credentials: None,
    })
}

/// Runs one query and converts the result to the engine's table.
pub(crate) async fn run(
    registry: &dataprov::Registry,
    session: &Session,
    report: &ItemPath,
    q: &QueryRequest,
    limits: &dataprov::Limits,
) -> Result<Arc<engine::DataTable>, ReportError> {
    let conn = connection(session, report, q).await?;
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
    Ok(Arc::new(engine::DataTable {
        fields: t.fields.into_iter().map(|f| f.name).collect(),
        rows: t.rows,
    }))
}

/// The `DataSourceDefinition` XML of a shared data source, without secrets: the connect
/// string's passwords are redacted.
pub(crate) fn definition_xml(ds: &rdl::model::SharedDataSource) -> String {
    let mut b = String::with_capacity(512);
    b.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<DataSourceDefinition xmlns=\"http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource\">");
    let mut el = |name: &str, v: &str| {
        b.push('<');
        b.push_str(name);
        b.push('>');
        render::xml::escape(v, &mut b);
        b.push_str("</");
        b.push_str(name);
        b.push('>');
    };
    el("Extension", &ds.extension);
    el(
        "ConnectString",
        &dataprov::connstr::redact(&ds.connect_string),
    );
    el(
        "CredentialRetrieval",
        &format!("{:?}", ds.credential_retrieval),
    );
    el(
        "WindowsCredentials",
        if ds.windows_credentials {
            "True"
        } else {
            "False"
        },
    );
    el(
        "ImpersonateUser",
        if ds.impersonate_user { "True" } else { "False" },
    );
    if let Some(p) = &ds.prompt {
        el("Prompt", p);
    }
    el("Enabled", if ds.enabled { "True" } else { "False" });
    b.push_str("</DataSourceDefinition>\n");
    b
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

    #[test]
    fn definition_has_no_password() {
        let ds = rdl::model::SharedDataSource {
            extension: "POSTGRESQL".into(),
            connect_string: "host=db user=u password=hunter2 dbname=x".into(),
            enabled: true,
            ..Default::default()
        };
        let x = definition_xml(&ds);
        assert!(x.contains("<Extension>POSTGRESQL</Extension>"), "{x}");
        assert!(!x.contains("hunter2"), "{x}");
    }
}
