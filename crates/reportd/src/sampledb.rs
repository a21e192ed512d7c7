//! The SQLite database behind quickstart's parameterized and drillthrough samples.
//!
//! `create` writes a new file with two tables, `customers` (12 rows) and `orders` (300 rows),
//! whose contents are a fixed function of the row number (see [`order`]), so tests and the
//! README can state exact totals. Must not: overwrite an existing file, or be used for
//! anything but the samples.

use std::path::Path;

use anyhow::Context;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// The sample customers: (name, city), ids 1.. in this order.
pub const CUSTOMERS: &[(&str, &str)] = &[
    ("Contoso Ltd", "Seattle"),
    ("Fabrikam Inc", "Atlanta"),
    ("Northwind Traders", "Portland"),
    ("Adventure Works", "Bothell"),
    ("Tailspin Toys", "Denver"),
    ("Wide World Importers", "San Francisco"),
    ("Litware Inc", "Boston"),
    ("Proseware Inc", "Chicago"),
    ("Alpine Ski House", "Aspen"),
    ("Coho Winery", "Napa"),
    ("Fourth Coffee", "Austin"),
    ("Woodgrove Bank", "New York"),
];

/// Order statuses.
pub const STATUSES: &[&str] = &["Open", "Shipped", "Closed", "Cancelled"];

/// Number of sample orders.
pub const ORDERS: u32 = 300;

/// One sample order.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: u32,
    pub customer_id: u32,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub status: &'static str,
    /// In cents.
    pub amount_cents: u32,
}

/// Order `i` (1-based): customer `((7i + i/11) mod 12) + 1`, date 2025-01-01 + `13i mod 730` days,
/// status `(i + i/7) mod 4`, amount `(4567i mod 90000) + 1000` cents.
pub fn order(i: u32) -> Order {
    let start = time::macros::date!(2025 - 01 - 01);
    let date = start + time::Duration::days(i64::from((i * 13) % 730));
    Order {
        id: i,
        customer_id: (i * 7 + i / 11) % 12 + 1,
        date: format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        status: STATUSES[((i + i / 7) % 4) as usize],
        amount_cents: (i * 4567) % 90_000 + 1000,
    }
}

/// Creates the sample database at `path` (its directory is created, mode 0750).
pub async fn create(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut c = SqliteConnection::connect_with(&opts)
        .await
        .with_context(|| format!("creating the sample database {}", path.display()))?;
    let mut tx = c.begin().await?;
    sqlx::query(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL \
         REFERENCES customers(id), order_date DATE NOT NULL, status TEXT NOT NULL, \
         amount REAL NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    for (i, (name, city)) in CUSTOMERS.iter().enumerate() {
        sqlx::query("INSERT INTO customers (id, name, city) VALUES (?, ?, ?)")
            .bind(i as i64 + 1)
            .bind(*name)
            .bind(*city)
            .execute(&mut *tx)
            .await?;
    }
    for i in 1..=ORDERS {
        let o = order(i);
        sqlx::query(
            "INSERT INTO orders (id, customer_id, order_date, status, amount) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(i64::from(o.id))
        .bind(i64::from(o.customer_id))
        .bind(&o.date)
        .bind(o.status)
        .bind(f64::from(o.amount_cents) / 100.0)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    c.close().await?;
    Ok(())
}
