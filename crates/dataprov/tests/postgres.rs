//! The PostgreSQL provider against the real server at `REPORTD_TEST_PG_URL`, one fresh
//! database per test (dropped afterwards). Skipped with a `skipped:` line when the variable
//! is unset, failed when `CI=true`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dataprov::postgres::PostgresProvider;
use dataprov::{
    BoundParam, CommandType, Connection, Credentials, DataError, DataProvider, DataTable, Limits,
    Query, Registry,
};
use rdl::Value;
use rust_decimal::Decimal;
use sqlx::{Connection as _, Executor};
use time::macros::datetime;

fn base_url() -> Option<url::Url> {
    match std::env::var("REPORTD_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(url::Url::parse(&u).expect("REPORTD_TEST_PG_URL is a URL")),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but REPORTD_TEST_PG_URL is not set"
            );
            println!("skipped: REPORTD_TEST_PG_URL not set");
            None
        }
    }
}

fn with_db(base: &url::Url, db: &str) -> url::Url {
    let mut u = base.clone();
    u.set_path(&format!("/{db}"));
    u
}

async fn admin(base: &url::Url) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(base.as_str())
        .await
        .expect("connect to REPORTD_TEST_PG_URL")
}

/// Runs `test` with the URL of a fresh database; drops the database afterwards, even when
/// the test fails.
async fn with_fresh_db<F, Fut>(test: F)
where
    F: FnOnce(url::Url) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(base) = base_url() else {
        return;
    };
    let name = format!("dataprov_{}", uuid::Uuid::new_v4().simple());
    admin(&base)
        .await
        .execute(sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\"")))
        .await
        .unwrap();
    let outcome = tokio::spawn(test(with_db(&base, &name))).await;
    let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    if let Err(e) = admin(&base).await.execute(sqlx::raw_sql(&drop)).await {
        eprintln!("warning: could not drop {name}: {e}");
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn conn(url: &url::Url) -> Connection {
    Connection {
        extension: "POSTGRESQL".into(),
        connect_string: url.to_string(),
        credentials: None,
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

fn arr(items: Vec<Value>) -> Value {
    Value::Array(Arc::from(items))
}

async fn exec(url: &url::Url, sql: &str, params: &[BoundParam]) -> Result<DataTable, DataError> {
    PostgresProvider
        .execute(&conn(url), &text(sql), params, &Limits::default())
        .await
}

#[tokio::test]
async fn generate_series_rows_with_every_mapped_type() {
    with_fresh_db(|url| async move {
        let sql = "SELECT g AS n, g::int2 AS s, g::int8 AS big, g::float8 / 2 AS f, \
                   g::float4 AS r, (g * 1.25)::numeric(10,3) AS d, 'x' || g AS t, \
                   'abc'::varchar(5) AS vc, 'ab'::char(3) AS bp, g % 2 = 0 AS b, \
                   DATE '2024-01-01' + g AS dt, TIMESTAMP '2024-01-01 10:00:00' AS ts, \
                   TIMESTAMPTZ '2024-01-01 10:00:00+02' AS tz, TIME '13:14:15' AS tm, \
                   decode('00ff', 'hex') AS by, \
                   '6f1c2a4e-0000-4000-8000-000000000001'::uuid AS u, NULL::int AS nul \
                   FROM generate_series(1, @n) g";
        let t = exec(&url, sql, &[p("n", Value::Int(1000))]).await.unwrap();
        assert_eq!(t.len(), 1000);
        let types: Vec<_> = t.fields.iter().map(|f| f.type_name.as_str()).collect();
        assert_eq!(
            types,
            [
                "System.Int64",
                "System.Int64",
                "System.Int64",
                "System.Double",
                "System.Double",
                "System.Decimal",
                "System.String",
                "System.String",
                "System.String",
                "System.Boolean",
                "System.DateTime",
                "System.DateTime",
                "System.DateTime",
                "System.String",
                "System.Byte[]",
                "System.String",
                "System.Int64",
            ]
        );
        assert_eq!(
            &t.row(0)[..],
            &[
                Value::Int(1),
                Value::Int(1),
                Value::Int(1),
                Value::Float(0.5),
                Value::Float(1.0),
                Value::Decimal(Decimal::new(1250, 3)),
                Value::from("x1"),
                Value::from("abc"),
                Value::from("ab "),
                Value::Bool(false),
                Value::DateTime(datetime!(2024-01-02 0:00)),
                Value::DateTime(datetime!(2024-01-01 10:00)),
                Value::DateTime(datetime!(2024-01-01 8:00)),
                Value::from("13:14:15"),
                Value::Bytes(Arc::from([0u8, 255])),
                Value::from("6f1c2a4e-0000-4000-8000-000000000001"),
                Value::Null,
            ]
        );
        // numeric keeps its scale: 1000 * 1.25 = 1250.000, not 1250.
        let Value::Decimal(d) = &t.value(999, 5) else {
            panic!("not a decimal: {:?}", t.value(999, 5));
        };
        assert_eq!(d.to_string(), "1250.000");
        assert_eq!(t.value(999, 0), Value::Int(1000));
    })
    .await;
}

#[tokio::test]
async fn a_parameter_holding_sql_is_data_not_sql() {
    with_fresh_db(|url| async move {
        let mut c = sqlx::PgConnection::connect(url.as_str()).await.unwrap();
        c.execute("CREATE TABLE x (name text); INSERT INTO x VALUES ('a'), ('b')")
            .await
            .unwrap();
        let evil = "'; DROP TABLE x; --";
        let t = exec(
            &url,
            "SELECT count(*) AS n FROM x WHERE name = @p",
            &[p("p", Value::from(evil))],
        )
        .await
        .unwrap();
        assert_eq!(&t.row(0)[..], &[Value::Int(0)]);
        let t = exec(&url, "SELECT @p AS echo", &[p("p", Value::from(evil))])
            .await
            .unwrap();
        assert_eq!(&t.row(0)[..], &[Value::from(evil)]);
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM x")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(left, 2, "the table survived");
    })
    .await;
}

#[tokio::test]
async fn multi_value_in_expands() {
    with_fresh_db(|url| async move {
        let sql = "SELECT g FROM generate_series(1, 10) g WHERE g IN (@ids) ORDER BY g";
        let ids = arr(vec![Value::Int(2), Value::Int(5), Value::Int(7)]);
        let t = exec(&url, sql, &[p("@ids", ids)]).await.unwrap();
        let got: Vec<_> = t.rows().map(|r| r[0].clone()).collect();
        assert_eq!(got, [Value::Int(2), Value::Int(5), Value::Int(7)]);
        let t = exec(&url, sql, &[p("ids", arr(vec![]))]).await.unwrap();
        assert!(t.is_empty());
        assert_eq!(t.fields.len(), 1, "columns known without rows");
        assert_eq!(t.fields[0].name, "g");
        let t = exec(
            &url,
            "SELECT 'n' || g AS s FROM generate_series(1, 5) g WHERE 'n' || g IN (@names) \
             AND g <> @skip ORDER BY g",
            &[
                p(
                    "names",
                    arr(vec![
                        Value::from("n1"),
                        Value::from("n3"),
                        Value::from("n4"),
                    ]),
                ),
                p("skip", Value::Int(3)),
            ],
        )
        .await
        .unwrap();
        let got: Vec<_> = t.rows().map(|r| r[0].clone()).collect();
        assert_eq!(got, [Value::from("n1"), Value::from("n4")]);
        // A NULL parameter takes its type from the context (`@p IS NULL` alone has none:
        // cast it, as with any PostgreSQL client).
        let t = exec(
            &url,
            "SELECT count(*) FROM generate_series(1, 3) g WHERE @p::int IS NULL OR g = @p",
            &[p("p", Value::Null)],
        )
        .await
        .unwrap();
        assert_eq!(&t.row(0)[..], &[Value::Int(3)]);
        // Compared with an integer column, a NULL needs no cast (it is sent untyped).
        let t = exec(
            &url,
            "SELECT count(*) FROM generate_series(1, 3) g WHERE g = @p",
            &[p("p", Value::Null)],
        )
        .await
        .unwrap();
        assert_eq!(&t.row(0)[..], &[Value::Int(0)]);
    })
    .await;
}

#[tokio::test]
async fn the_statement_timeout_stops_pg_sleep() {
    with_fresh_db(|url| async move {
        // The server-side timeout is set on the session.
        let q = Query {
            command_text: "SELECT current_setting('statement_timeout') AS st".into(),
            timeout: Some(Duration::from_secs(7)),
            ..Query::default()
        };
        let t = PostgresProvider
            .execute(&conn(&url), &q, &[], &Limits::default())
            .await
            .unwrap();
        assert_eq!(&t.row(0)[..], &[Value::from("7s")]);
        let q = Query {
            command_text: "SELECT pg_sleep(30)".into(),
            timeout: Some(Duration::from_secs(1)),
            ..Query::default()
        };
        let started = Instant::now();
        let e = PostgresProvider
            .execute(&conn(&url), &q, &[], &Limits::default())
            .await
            .unwrap_err();
        assert!(matches!(e, DataError::Timeout { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("within 1 seconds"), "{msg}");
        assert!(msg.contains("Query/Timeout"), "{msg}");
        assert!(started.elapsed() < Duration::from_secs(10));
        // Limits' default applies when the query has none.
        let limits = Limits {
            default_timeout: Duration::from_secs(1),
            ..Limits::default()
        };
        let e = PostgresProvider
            .execute(&conn(&url), &text("SELECT pg_sleep(30)"), &[], &limits)
            .await
            .unwrap_err();
        assert!(matches!(e, DataError::Timeout { .. }), "{e}");
    })
    .await;
}

#[tokio::test]
async fn the_row_limit_is_checked_while_streaming() {
    with_fresh_db(|url| async move {
        let limits = Limits {
            max_rows: 100,
            ..Limits::default()
        };
        let sql = "SELECT g FROM generate_series(1, 5000000) g";
        let started = Instant::now();
        let e = PostgresProvider
            .execute(&conn(&url), &text(sql), &[], &limits)
            .await
            .unwrap_err();
        assert!(matches!(e, DataError::RowLimit { limit: 100 }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("more than 100 rows")
                && msg.contains("reportctl config set MaxReportRows"),
            "{msg}"
        );
        assert!(started.elapsed() < Duration::from_secs(20));
        let t = PostgresProvider
            .execute(
                &conn(&url),
                &text("SELECT g FROM generate_series(1, 100) g"),
                &[],
                &limits,
            )
            .await
            .unwrap();
        assert_eq!(t.len(), 100);
        let small = Limits {
            max_bytes: 10_000,
            ..Limits::default()
        };
        let e = PostgresProvider
            .execute(
                &conn(&url),
                &text("SELECT repeat('x', 1000) FROM generate_series(1, 100)"),
                &[],
                &small,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, DataError::ByteLimit { limit: 10_000 }), "{e}");
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_server_fails_fast_without_the_password() {
    // No database needed, but keep the skip rule of this file.
    if base_url().is_none() {
        return;
    }
    let secret = "s3cretPassw0rd";
    let c = Connection {
        extension: "Npgsql".into(),
        connect_string: format!("Host=127.0.0.1;Port=1;Database=x;Username=u;Password={secret}"),
        credentials: None,
    };
    let started = Instant::now();
    let e = Registry::with_defaults()
        .execute(&c, &text("SELECT 1"), &[], &Limits::default())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(matches!(e, DataError::Connect { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(!msg.contains(secret), "{msg}");
    assert!(!format!("{e:?}").contains(secret));
    assert!(!format!("{c:?}").contains(secret));
    let e = PostgresProvider
        .test_connection(&c, &Limits::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
}

#[tokio::test]
async fn connect_string_spellings_and_stored_credentials() {
    with_fresh_db(|url| async move {
        let host = url.host_str().unwrap().to_string();
        let port = url.port().unwrap_or(5432);
        let db = url.path().trim_start_matches('/').to_string();
        let user = url.username().to_string();
        let spellings = [
            url.to_string(),
            format!("host={host} port={port} dbname={db} user={user} sslmode=prefer"),
            format!("Host={host};Port={port};Database={db};Username={user}"),
            format!("Server={host}:{port};Database={db};User ID={user};Pooling=true"),
        ];
        for cs in spellings {
            let c = Connection {
                extension: "postgres".into(),
                connect_string: cs.clone(),
                credentials: None,
            };
            let t = Registry::with_defaults()
                .execute(
                    &c,
                    &text("SELECT current_database() AS d"),
                    &[],
                    &Limits::default(),
                )
                .await
                .unwrap_or_else(|e| panic!("{cs}: {e}"));
            assert_eq!(&t.row(0)[..], &[Value::from(db.as_str())], "{cs}");
            PostgresProvider
                .test_connection(&c, &Limits::default())
                .await
                .unwrap();
        }
        // Stored credentials replace the connect string's user.
        let c = Connection {
            extension: "PGSQL".into(),
            connect_string: format!("Host={host};Port={port};Database={db};Username=nobody"),
            credentials: Some(Credentials::new(user.clone(), "unused")),
        };
        let t = PostgresProvider
            .execute(
                &c,
                &text("SELECT current_user::text AS u"),
                &[],
                &Limits::default(),
            )
            .await
            .unwrap();
        assert_eq!(&t.row(0)[..], &[Value::from(user.as_str())]);
        assert!(!format!("{c:?}").contains("unused"));
        // No user at all is refused before connecting.
        let c = Connection {
            extension: "PGSQL".into(),
            connect_string: format!("Host={host};Port={port};Database={db}"),
            credentials: None,
        };
        let e = PostgresProvider
            .execute(&c, &text("SELECT 1"), &[], &Limits::default())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("names no user"), "{e}");
    })
    .await;
}

#[tokio::test]
async fn query_errors_carry_the_database_message() {
    with_fresh_db(|url| async move {
        let e = exec(&url, "SELECT * FROM nope", &[]).await.unwrap_err();
        assert!(matches!(e, DataError::Query { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("relation \"nope\" does not exist"), "{msg}");
        assert!(msg.contains("SQLSTATE 42P01"), "{msg}");
        let e = exec(&url, "SELECT '{}'::jsonb AS j", &[])
            .await
            .unwrap_err();
        assert!(matches!(e, DataError::ColumnType { .. }), "{e}");
        assert!(e.to_string().contains("j::text"), "{e}");
        let e = exec(&url, "SELECT @missing", &[]).await.unwrap_err();
        assert!(matches!(e, DataError::Parameter { .. }), "{e}");
    })
    .await;
}

#[tokio::test]
async fn stored_procedures_and_table_direct() {
    with_fresh_db(|url| async move {
        let mut c = sqlx::PgConnection::connect(url.as_str()).await.unwrap();
        c.execute(
            "CREATE FUNCTION upto(lim integer) RETURNS TABLE(v integer) \
             AS $$ SELECT g FROM generate_series(1, lim) g $$ LANGUAGE sql; \
             CREATE TABLE items (id int); INSERT INTO items VALUES (1), (2)",
        )
        .await
        .unwrap();
        let q = Query {
            command_text: "upto".into(),
            command_type: CommandType::StoredProcedure,
            ..Query::default()
        };
        let t = PostgresProvider
            .execute(
                &conn(&url),
                &q,
                &[p("@lim", Value::Int(3))],
                &Limits::default(),
            )
            .await
            .unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.fields[0].name, "v");
        let q = Query {
            command_text: "public.items".into(),
            command_type: CommandType::TableDirect,
            ..Query::default()
        };
        let t = PostgresProvider
            .execute(&conn(&url), &q, &[], &Limits::default())
            .await
            .unwrap();
        assert_eq!(t.len(), 2);
        let q = Query {
            command_text: "items; DROP TABLE items".into(),
            command_type: CommandType::TableDirect,
            ..Query::default()
        };
        let e = PostgresProvider
            .execute(&conn(&url), &q, &[], &Limits::default())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not a valid table name"), "{e}");
    })
    .await;
}
