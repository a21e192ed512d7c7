//! Fetch rate of the SQL providers: rows per CPU-second of this process for a 6-column
//! table (int, text, float, numeric, timestamp, bool), from PostgreSQL (`generate_series`)
//! and from a SQLite file with the same rows.
//!
//! `cargo run --release -p dataprov --example fetch_rate -- [ROWS]` with
//! `REPORTD_TEST_PG_URL` set (PostgreSQL is skipped without it).

use std::str::FromStr;
use std::time::{Duration, Instant};

use dataprov::{Connection, DataProvider, Limits, Query};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection as _, Executor};

/// User + system CPU seconds of this process, from /proc/self/stat (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the `)`.
    (ticks(11) + ticks(12)) / 100.0
}

async fn measure(name: &str, p: &dyn DataProvider, conn: &Connection, sql: &str, limits: &Limits) {
    let q = Query {
        command_text: sql.into(),
        timeout: Some(Duration::ZERO),
        ..Query::default()
    };
    // One warm-up, then three timed runs; report the best.
    let _ = p.execute(conn, &q, &[], limits).await.unwrap();
    let mut best = f64::MAX;
    let mut rows = 0;
    let mut bytes = 0;
    let mut wall = Duration::ZERO;
    for _ in 0..3 {
        let c0 = cpu_seconds();
        let w0 = Instant::now();
        let t = p.execute(conn, &q, &[], limits).await.unwrap();
        let cpu = cpu_seconds() - c0;
        rows = t.len();
        bytes = t.heap_size();
        if cpu < best {
            best = cpu;
            wall = w0.elapsed();
        }
    }
    println!(
        "{name}: {rows} rows, {best:.2} CPU s ({:.0} rows per CPU-second), wall {:.2} s, \
         table {bytes} bytes",
        rows as f64 / best.max(0.01),
        wall.as_secs_f64()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let select = format!(
        "SELECT g AS id, 'Customer ' || g AS name, g * 0.5 AS amount, \
         CAST(g * 1.25 AS NUMERIC(12,2)) AS price, \
         TIMESTAMP '2024-01-01 00:00:00' + g * INTERVAL '1 minute' AS at, g % 2 = 0 AS flag \
         FROM generate_series(1, {rows}) g"
    );
    let limits = Limits {
        max_rows: rows as usize + 1,
        max_bytes: usize::MAX,
        ..Limits::default()
    };
    if let Ok(url) = std::env::var("REPORTD_TEST_PG_URL") {
        let conn = Connection {
            extension: "POSTGRESQL".into(),
            connect_string: url,
            credentials: None,
        };
        measure(
            "PostgreSQL",
            &dataprov::postgres::PostgresProvider,
            &conn,
            &select,
            &limits,
        )
        .await;
    } else {
        println!("PostgreSQL: skipped (REPORTD_TEST_PG_URL not set)");
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.db");
    let mut c = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    c.execute(
        "CREATE TABLE t (id INTEGER, name TEXT, amount REAL, price TEXT, at DATETIME, \
         flag BOOLEAN)",
    )
    .await
    .unwrap();
    let fill = format!(
        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < {rows}) \
         INSERT INTO t SELECT x, 'Customer ' || x, x * 0.5, printf('%.2f', x * 1.25), \
         datetime('2024-01-01', '+' || x || ' minutes'), x % 2 = 0 FROM g"
    );
    c.execute(fill.as_str()).await.unwrap();
    c.close().await.unwrap();
    let conn = Connection {
        extension: "SQLITE".into(),
        connect_string: format!("Data Source={}", path.display()),
        credentials: None,
    };
    let limits = Limits {
        allowed_sqlite_dirs: vec![dir.path().to_path_buf()],
        ..limits
    };
    measure(
        "SQLite",
        &dataprov::sqlite::SqliteProvider,
        &conn,
        "SELECT * FROM t",
        &limits,
    )
    .await;
}
