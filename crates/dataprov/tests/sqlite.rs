//! The SQLite provider against real files in a temp dir: the directory allow-list
//! (outside, symlinks, `..`, none configured), read-only, bound parameters, types, limits.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dataprov::{
    BoundParam, CommandType, Connection, DataError, DataProvider, Limits, Query, Registry,
    sqlite::SqliteProvider,
};
use rdl::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection as _, Executor};
use time::macros::datetime;

struct Fixture {
    _tmp: tempfile::TempDir,
    allowed: PathBuf,
    other: PathBuf,
    db: PathBuf,
    outside_db: PathBuf,
}

async fn make_db(path: &Path, rows: i64) {
    let mut c = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    c.execute(
        "CREATE TABLE t (id INTEGER, name TEXT, price REAL, flag BOOLEAN, at DATETIME, img BLOB, \
         anything)",
    )
    .await
    .unwrap();
    for i in 1..=rows {
        sqlx::query("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(i)
            .bind(format!("name {i}"))
            .bind(i as f64 + 0.5)
            .bind(i % 2 == 0)
            .bind(format!("2024-01-{i:02} 10:20:30"))
            .bind(vec![i as u8, 0, 255])
            .bind(if i == 1 {
                "text".to_string()
            } else {
                i.to_string()
            })
            .execute(&mut c)
            .await
            .unwrap();
    }
    c.close().await.unwrap();
}

async fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let allowed = tmp.path().join("allowed");
    let other = tmp.path().join("other");
    std::fs::create_dir(&allowed).unwrap();
    std::fs::create_dir(&other).unwrap();
    let db = allowed.join("data.db");
    let outside_db = other.join("secret.db");
    make_db(&db, 3).await;
    make_db(&outside_db, 1).await;
    Fixture {
        _tmp: tmp,
        allowed,
        other,
        db,
        outside_db,
    }
}

fn conn(connect_string: String) -> Connection {
    Connection {
        extension: "SQLite".into(),
        connect_string,
        credentials: None,
    }
}

fn limits(f: &Fixture) -> Limits {
    Limits {
        allowed_sqlite_dirs: vec![f.allowed.clone()],
        ..Limits::default()
    }
}

fn text(sql: &str) -> Query {
    Query {
        command_text: sql.into(),
        ..Query::default()
    }
}

fn p(name: &str, value: Value) -> BoundParam {
    BoundParam {
        name: name.into(),
        value,
    }
}

async fn run(f: &Fixture, cs: String, sql: &str) -> Result<dataprov::DataTable, DataError> {
    Registry::with_defaults()
        .execute(&conn(cs), &text(sql), &[], &limits(f))
        .await
}

fn assert_refused(e: &DataError, path_part: &str) {
    let msg = e.to_string();
    assert!(matches!(e, DataError::PathNotAllowed { .. }), "{msg}");
    assert!(msg.contains(path_part), "{msg}");
    assert!(
        msg.contains("reportctl config set DataSourceDirectories"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_file_under_an_allowed_directory_reads_with_typed_values_and_bound_parameters() {
    let f = fixture().await;
    let params = [
        p(
            "@ids",
            Value::Array(Arc::from([Value::Int(1), Value::Int(3)])),
        ),
        p("n", Value::from("nobody")),
    ];
    let q = text(
        "SELECT id, name, price, flag, at, img, anything FROM t WHERE id IN (@ids) AND name <> @n ORDER BY id",
    );
    let t = SqliteProvider
        .execute(
            &conn(format!("Data Source={};Mode=ReadOnly", f.db.display())),
            &q,
            &params,
            &limits(&f),
        )
        .await
        .unwrap();
    let types: Vec<_> = t.fields.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(
        types,
        [
            "System.Int64",
            "System.String",
            "System.Double",
            "System.Boolean",
            "System.DateTime",
            "System.Byte[]",
            "System.Object"
        ]
    );
    assert_eq!(t.len(), 2);
    assert_eq!(
        &t.row(0)[..],
        &[
            Value::Int(1),
            Value::from("name 1"),
            Value::Float(1.5),
            Value::Bool(false),
            Value::DateTime(datetime!(2024-01-01 10:20:30)),
            Value::Bytes(Arc::from([1u8, 0, 255])),
            Value::from("text"),
        ]
    );
    assert_eq!(t.value(1, 0), Value::Int(3));
    // A column without a declared type follows each value's storage class.
    assert_eq!(t.value(1, 6), Value::from("3"));

    // The sqlite: URL spelling and an empty multi-value parameter.
    let t = SqliteProvider
        .execute(
            &conn(format!("sqlite://{}", f.db.display())),
            &text("SELECT count(*) AS n FROM t WHERE id IN (@ids)"),
            &[p("ids", Value::Array(Arc::from([])))],
            &limits(&f),
        )
        .await
        .unwrap();
    assert_eq!(t.fields[0].name, "n");
    assert_eq!(&t.row(0)[..], &[Value::Int(0)]);
}

#[tokio::test]
async fn a_parameter_holding_sql_is_data() {
    let f = fixture().await;
    let evil = "'; DROP TABLE t; --";
    let t = SqliteProvider
        .execute(
            &conn(format!("Data Source={}", f.db.display())),
            &text("SELECT id FROM t WHERE name = @n"),
            &[p("n", Value::from(evil))],
            &limits(&f),
        )
        .await
        .unwrap();
    assert!(t.is_empty());
    let t = run(
        &f,
        format!("Data Source={}", f.db.display()),
        "SELECT count(*) FROM t",
    )
    .await
    .unwrap();
    assert_eq!(&t.row(0)[..], &[Value::Int(3)]);
    // Bound as a value, it comes back unchanged.
    let t = SqliteProvider
        .execute(
            &conn(format!("Data Source={}", f.db.display())),
            &text("SELECT @n AS echo"),
            &[p("n", Value::from(evil))],
            &limits(&f),
        )
        .await
        .unwrap();
    assert_eq!(&t.row(0)[..], &[Value::from(evil)]);
}

#[tokio::test]
async fn files_outside_the_allowed_directories_are_refused() {
    let f = fixture().await;
    let e = run(
        &f,
        format!("Data Source={}", f.outside_db.display()),
        "SELECT 1",
    )
    .await
    .unwrap_err();
    assert_refused(&e, &f.outside_db.display().to_string());
    assert!(
        e.to_string().contains("outside the allowed directories"),
        "{e}"
    );
}

#[tokio::test]
async fn no_configured_directories_refuses_every_path() {
    let f = fixture().await;
    let e = SqliteProvider
        .execute(
            &conn(format!("Data Source={}", f.db.display())),
            &text("SELECT 1"),
            &[],
            &Limits::default(),
        )
        .await
        .unwrap_err();
    assert_refused(&e, &f.db.display().to_string());
    assert!(
        e.to_string().contains("DataSourceDirectories is empty"),
        "{e}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_escaping_the_allowed_directory_is_refused() {
    let f = fixture().await;
    let link = f.allowed.join("link.db");
    std::os::unix::fs::symlink(&f.outside_db, &link).unwrap();
    let e = run(&f, format!("Data Source={}", link.display()), "SELECT 1")
        .await
        .unwrap_err();
    assert_refused(&e, &link.display().to_string());
    assert!(e.to_string().contains("symbolic link"), "{e}");
    // A directory link inside the allowed one that points out is refused the same way.
    let dlink = f.allowed.join("sub");
    std::os::unix::fs::symlink(&f.other, &dlink).unwrap();
    let via = dlink.join("secret.db");
    let e = run(&f, format!("Data Source={}", via.display()), "SELECT 1")
        .await
        .unwrap_err();
    assert_refused(&e, "secret.db");
    // A link that stays inside is fine.
    let inner = f.allowed.join("alias.db");
    std::os::unix::fs::symlink(&f.db, &inner).unwrap();
    let t = run(
        &f,
        format!("Data Source={}", inner.display()),
        "SELECT count(*) FROM t",
    )
    .await
    .unwrap();
    assert_eq!(&t.row(0)[..], &[Value::Int(3)]);
}

#[tokio::test]
async fn dot_dot_and_relative_paths_are_refused() {
    let f = fixture().await;
    for path in [
        format!("{}/../other/secret.db", f.allowed.display()),
        format!("{}/../allowed/data.db", f.allowed.display()),
    ] {
        let e = run(&f, format!("Data Source={path}"), "SELECT 1")
            .await
            .unwrap_err();
        assert_refused(&e, &path);
        assert!(e.to_string().contains("'..'"), "{e}");
    }
    let e = run(&f, "Data Source=data.db".into(), "SELECT 1")
        .await
        .unwrap_err();
    assert_refused(&e, "data.db");
    assert!(e.to_string().contains("absolute"), "{e}");
    let e = run(&f, "Data Source=:memory:".into(), "SELECT 1")
        .await
        .unwrap_err();
    assert_refused(&e, ":memory:");
}

#[tokio::test]
async fn a_missing_file_is_never_created() {
    let f = fixture().await;
    let missing = f.allowed.join("missing.db");
    let e = run(&f, format!("Data Source={}", missing.display()), "SELECT 1")
        .await
        .unwrap_err();
    assert_refused(&e, "missing.db");
    assert!(!missing.exists());
}

#[tokio::test]
async fn the_file_is_read_only() {
    let f = fixture().await;
    let cs = format!("Data Source={}", f.db.display());
    for sql in [
        "INSERT INTO t (id) VALUES (99)",
        "DELETE FROM t",
        "CREATE TABLE x (a)",
    ] {
        let e = run(&f, cs.clone(), sql).await.unwrap_err();
        assert!(matches!(e, DataError::Query { .. }), "{e}");
        assert!(e.to_string().contains("readonly"), "{e}");
    }
    let t = run(&f, cs, "SELECT count(*) FROM t").await.unwrap();
    assert_eq!(&t.row(0)[..], &[Value::Int(3)]);
}

#[tokio::test]
async fn attach_cannot_reach_another_file() {
    let f = fixture().await;
    let sql = format!(
        "ATTACH DATABASE '{}' AS o; SELECT * FROM o.t",
        f.outside_db.display()
    );
    let e = run(&f, format!("Data Source={}", f.db.display()), &sql)
        .await
        .unwrap_err();
    assert!(matches!(e, DataError::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("ATTACH is not allowed"), "{e}");
}

#[tokio::test]
async fn the_row_limit_stops_the_fetch() {
    let f = fixture().await;
    let mut l = limits(&f);
    l.max_rows = 2;
    let e = SqliteProvider
        .execute(
            &conn(format!("Data Source={}", f.db.display())),
            &text("SELECT * FROM t"),
            &[],
            &l,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DataError::RowLimit { limit: 2 }), "{e}");
    assert!(
        e.to_string().contains("reportctl config set MaxReportRows"),
        "{e}"
    );
    l.max_rows = 3;
    let t = SqliteProvider
        .execute(
            &conn(format!("Data Source={}", f.db.display())),
            &text("SELECT * FROM t"),
            &[],
            &l,
        )
        .await
        .unwrap();
    assert_eq!(t.len(), 3);
}

#[tokio::test]
async fn a_runaway_query_is_interrupted_at_its_timeout() {
    let f = fixture().await;
    let q = Query {
        command_text: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                       SELECT count(*) FROM c"
            .into(),
        timeout: Some(Duration::from_millis(300)),
        ..Query::default()
    };
    let started = Instant::now();
    let e = SqliteProvider
        .execute(
            &conn(format!("Data Source={}", f.db.display())),
            &q,
            &[],
            &limits(&f),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DataError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("Query/Timeout"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn table_direct_and_stored_procedure() {
    let f = fixture().await;
    let cs = format!("Data Source={}", f.db.display());
    let q = Query {
        command_text: "t".into(),
        command_type: CommandType::TableDirect,
        ..Query::default()
    };
    let t = SqliteProvider
        .execute(&conn(cs.clone()), &q, &[], &limits(&f))
        .await
        .unwrap();
    assert_eq!(t.len(), 3);
    let q = Query {
        command_text: "proc".into(),
        command_type: CommandType::StoredProcedure,
        ..Query::default()
    };
    let e = SqliteProvider
        .execute(&conn(cs.clone()), &q, &[], &limits(&f))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no stored procedures"), "{e}");
    SqliteProvider
        .test_connection(&conn(cs), &limits(&f))
        .await
        .unwrap();
}
