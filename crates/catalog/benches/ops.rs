//! Timings of the catalog's hot operations on SQLite and (with `REPORTD_TEST_PG_URL`)
//! PostgreSQL: what a page or REST request asks of the catalog. No criterion: a plain
//! `harness = false` bench keeps the build light on a 2-core machine.
//!
//! Run: `cargo bench -p catalog` (PostgreSQL: `REPORTD_TEST_PG_URL=postgres://...`, a
//! database `reportd_bench_<uuid>` is created and dropped). Prints, per operation, the
//! median and least wall time of `ROUNDS` rounds (one client) and the CPU time this process
//! spent per operation (`/proc/self/stat`: the caller and SQLite's worker threads, not the
//! PostgreSQL server), in microseconds. On a shared machine the CPU time is the steadier one.

use std::str::FromStr;
use std::time::{Duration, Instant};

use catalog::{ItemPath, ItemType, NewItem, NewUser, Policy, Role, SharedCatalog, password};
use sqlx::{Connection, Executor};

/// Rounds per operation (each a median sample), operations per round.
const ROUNDS: usize = 15;
const PER_ROUND: usize = 100;

fn p(s: &str) -> ItemPath {
    ItemPath::parse(s).expect("bench path")
}

/// A folder tree `/F0../F0/S0/T0` with 100 reports in the deepest folder, policies on
/// `/F0`, and 200 users.
async fn fill(c: &SharedCatalog) {
    let mut path = String::new();
    for seg in ["F0", "S0", "T0"] {
        path.push('/');
        path.push_str(seg);
        c.create_folder(&p(&path), "bench").await.expect("folder");
    }
    for i in 0..100 {
        let item = p(&format!("{path}/R{i:03}"));
        c.put_item(NewItem {
            path: &item,
            item_type: ItemType::Report,
            content: &[b'x'; 4096],
            mime_type: None,
            description: "",
            by: "bench",
            overwrite: false,
        })
        .await
        .expect("report");
    }
    let policies: Vec<Policy> = (0..5)
        .map(|i| Policy {
            user: format!("user{i}"),
            roles: vec![Role::Browser, Role::Publisher],
        })
        .collect();
    c.set_policies(&p("/F0"), Some(&policies))
        .await
        .expect("policies");
    let hash = password::hash("bench password").expect("hash");
    for i in 0..200 {
        c.add_user(&NewUser {
            name: format!("user{i}"),
            password_hash: hash.clone(),
            system_roles: vec![Role::SystemUser],
        })
        .await
        .expect("user");
    }
}

async fn time<F, Fut>(name: &str, backend: &str, mut op: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut rounds: Vec<Duration> = Vec::with_capacity(ROUNDS);
    let cpu = cpu_time();
    for r in 0..ROUNDS {
        let t = Instant::now();
        for i in 0..PER_ROUND {
            op(r * PER_ROUND + i).await;
        }
        rounds.push(t.elapsed() / PER_ROUND as u32);
    }
    let cpu = (cpu_time() - cpu) / (ROUNDS * PER_ROUND) as u32;
    rounds.sort();
    println!(
        "{backend:<10} {name:<30} median {:>8.1} us  min {:>8.1} us  cpu {:>8.1} us",
        rounds[ROUNDS / 2].as_secs_f64() * 1e6,
        rounds[0].as_secs_f64() * 1e6,
        cpu.as_secs_f64() * 1e6
    );
}

/// User + system CPU time of this process so far (all threads), from `/proc/self/stat`
/// (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The fields after the parenthesized command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let ticks: u64 = rest
        .split(' ')
        .skip(11)
        .take(2)
        .map(|f| f.parse::<u64>().expect("stat tick count"))
        .sum();
    Duration::from_millis(ticks * 10)
}

async fn run(c: &SharedCatalog) {
    let b = c.backend();
    fill(c).await;
    let deep = &p("/F0/S0/T0/R050");
    let folder = &p("/F0/S0/T0");
    time("get_item", b, |_| async {
        c.get_item(deep).await.expect("get").expect("exists");
    })
    .await;
    time("effective_roles (depth 4)", b, |_| async {
        c.effective_roles(deep, "user3").await.expect("roles");
    })
    .await;
    time("list_children (100 items)", b, |_| async {
        c.list_children(folder).await.expect("list");
    })
    .await;
    time("get_user", b, |_| async {
        c.get_user("user150").await.expect("user").expect("exists");
    })
    .await;
    time("list_users (200)", b, |_| async {
        c.list_users().await.expect("users");
    })
    .await;
    time("generation", b, |_| async {
        c.generation().await.expect("generation");
    })
    .await;
    time("put_item overwrite (4 KiB)", b, |i| {
        let content = vec![(i % 251) as u8; 4096];
        async move {
            c.put_item(NewItem {
                path: deep,
                item_type: ItemType::Report,
                content: &content,
                mime_type: None,
                description: "",
                by: "bench",
                overwrite: true,
            })
            .await
            .expect("overwrite");
        }
    })
    .await;
    time("set_policies (5 users)", b, |i| async move {
        let policies: Vec<Policy> = (0..5)
            .map(|u| Policy {
                user: format!("user{}", (u + i) % 200),
                roles: vec![Role::Browser],
            })
            .collect();
        c.set_policies(folder, Some(&policies))
            .await
            .expect("set policies");
    })
    .await;
}

/// `base` with its database replaced by `db`.
fn with_db(base: &str, db: &str) -> String {
    let scheme_end = base.find("://").expect("postgres URL has ://") + 3;
    let end = base[scheme_end..]
        .find(['/', '?'])
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{db}", &base[..end])
}

async fn drop_db(base: &str, db: &str) {
    let opts = sqlx::postgres::PgConnectOptions::from_str(base).expect("REPORTD_TEST_PG_URL");
    let mut admin = sqlx::PgConnection::connect_with(&opts)
        .await
        .expect("connect to REPORTD_TEST_PG_URL");
    let _ = (&mut admin)
        .execute(sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
        )))
        .await;
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo test --benches` runs this without --bench: only check that it starts.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("catalog.db").display());
    let c = catalog::open(&url, true).await.expect("open sqlite");
    run(&c).await;

    match std::env::var("REPORTD_TEST_PG_URL") {
        Ok(base) if !base.is_empty() => {
            let db = format!("reportd_bench_{}", uuid::Uuid::new_v4().simple());
            let c = catalog::open(&with_db(&base, &db), true)
                .await
                .expect("open postgres");
            run(&c).await;
            drop(c);
            drop_db(&base, &db).await;
        }
        _ => println!("postgresql: skipped (REPORTD_TEST_PG_URL is not set)"),
    }
}
