//! Sign-in under hostile load, against both applications served on a real socket (port 0)
//! with a real data dir, SQLite catalog and argon2id hashes:
//! - clients that send random user names and hang up after 30 ms: KDFs in flight never
//!   exceed the worker bound, RSS grows by less than [`RSS_GROWTH_CEILING_MB`] (the
//!   process holds what earlier tests left, so the growth is what counts), nothing is
//!   left behind;
//! - wrong passwords: the delay grows, then 429 with `Retry-After`, then the lockout ends;
//! - the real administrator, already signed in, is served during 300 concurrent wrong
//!   attempts on `admin` with p99 under [`CACHED_P99_CEILING`];
//! - unknown and known user names take the same time (medians within a loose factor);
//! - a flood of 300 random names does not delay new sign-ins past [`NEW_SIGNIN_ALLOWANCE`]
//!   and gets no KDF;
//! - removing a user or changing a password (portal) takes effect at the next request.
//!
//! Attackers use source addresses all over 127.0.0.0/8 (Linux routes the whole block to
//! the loopback), so the per-address throttle does not hide the per-name and KDF bounds.
//! The tests take turns (one lock): each measures memory and latency of the process.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use catalog::{NewUser, Role};
use common::*;
use datadir::{Config, Settings, UrlReservationsRepr};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webapp::{AppState, standalone};

/// Resident memory the test process may reach during an attack.
const RSS_GROWTH_CEILING_MB: u64 = 192;
/// p99 of the cached administrator's requests during the wrong-password flood (debug
/// build on a shared 2-core machine; a release build is far below).
const CACHED_P99_CEILING: Duration = Duration::from_millis(500);

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A server on 127.0.0.1:0 running both applications with real peer addresses.
struct Server {
    addr: SocketAddr,
    env: Env,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn server(max_failures: u32, lockout_seconds: u32) -> Server {
    let env = env(true).await;
    let mut settings = Settings::new("test-instance".into());
    settings.database_url = Some("sqlite:catalog.db".into());
    settings.sign_in_max_failures = max_failures;
    settings.sign_in_lockout_seconds = lockout_seconds;
    Config::write(
        &env.dd.config_path(),
        &settings,
        &UrlReservationsRepr::default(),
    )
    .unwrap();
    env.state.reload().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = standalone(env.state.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Server { addr, env, task }
}

fn state(s: &Server) -> &AppState {
    &s.env.state
}

/// A source address in 127.0.0.0/8 other than 127.0.0.1.
fn random_loopback() -> IpAddr {
    let n: u32 = rand::random::<u32>() & 0x00ff_ffff;
    let n = if n <= 1 { 2 } else { n };
    IpAddr::V4(Ipv4Addr::from(0x7f00_0000 | n))
}

struct Answer {
    status: u16,
    retry_after: Option<u64>,
    took: Duration,
}

/// One `GET path` over a fresh connection from `from`, signed in as `who`; `Connection:
/// close`, read to the end. Only the status line and `Retry-After` are looked at.
async fn request(addr: SocketAddr, from: IpAddr, path: &str, who: (&str, &str)) -> Answer {
    let started = Instant::now();
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(from, 0)).unwrap();
    let mut s = sock.connect(addr).await.unwrap();
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: reports.test:8080\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        basic(who)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf))
        .await
        .expect("answered within 30 s")
        .unwrap();
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let retry_after = text.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("retry-after")
            .then(|| v.trim().parse().ok())?
    });
    Answer {
        status,
        retry_after,
        took: started.elapsed(),
    }
}

/// Sends the head of a signed-in request from `from` and hangs up after `after`.
async fn cancelled(addr: SocketAddr, from: IpAddr, who: (&str, &str), after: Duration) {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(from, 0)).unwrap();
    let Ok(mut s) = sock.connect(addr).await else {
        return;
    };
    let head = format!(
        "GET /ReportServer HTTP/1.1\r\nHost: reports.test:8080\r\nAuthorization: {}\r\n\r\n",
        basic(who)
    );
    let _ = s.write_all(head.as_bytes()).await;
    tokio::time::sleep(after).await;
    drop(s);
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Samples RSS every 10 ms until dropped; `peak()` is the highest seen.
struct RssWatch {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssWatch {
    fn start() -> RssWatch {
        let peak = Arc::new(AtomicU64::new(rss_kb()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kb(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        RssWatch { peak, stop }
    }

    fn peak_mb(&self) -> u64 {
        self.peak.load(Ordering::Relaxed) / 1024
    }
}

impl Drop for RssWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

async fn settle(s: &Server) {
    let t = Instant::now();
    loop {
        let st = state(s).sign_in_stats();
        if st.gates == 0 && st.kdf_in_flight == 0 {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "sign-in work left behind: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_signins_with_random_names_stay_bounded() {
    let _turn = TURN.lock().await;
    let s = server(5, 120).await;
    let before_mb = rss_kb() / 1024;
    println!("RSS before the attack {before_mb} MB");
    let rss = RssWatch::start();
    // 300 clients in waves of 50: random names (no KDF), and three known names with wrong
    // passwords (a KDF each until the name locks), each hanging up after 30 ms.
    for wave in 0..6 {
        let mut tasks = Vec::new();
        for i in 0..50 {
            let who_name = if i % 5 == 0 {
                [ADMIN.0, PUBLISHER.0, NOBODY.0][(wave + i) % 3].to_owned()
            } else {
                format!("ghost-{}", rand::random::<u64>())
            };
            let addr = s.addr;
            tasks.push(tokio::spawn(async move {
                cancelled(
                    addr,
                    random_loopback(),
                    (&who_name, "not-the-password"),
                    Duration::from_millis(30),
                )
                .await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        println!(
            "after wave {wave}: RSS {} MB, {:?}",
            rss_kb() / 1024,
            state(&s).sign_in_stats()
        );
    }
    settle(&s).await;
    let st = state(&s).sign_in_stats();
    assert!(
        st.kdf_peak <= st.kdf_workers,
        "KDFs in flight exceeded the bound: {st:?}"
    );
    assert!(
        st.kdf_runs < 120,
        "unknown names get no KDF each (300 attempts, {} KDFs)",
        st.kdf_runs
    );
    let peak = rss.peak_mb();
    println!("peak RSS {peak} MB, {st:?}");
    assert!(
        peak.saturating_sub(before_mb) < RSS_GROWTH_CEILING_MB,
        "RSS grew from {before_mb} MB to {peak} MB during the attack"
    );
    // The server still signs in a user whose name was not attacked.
    let a = request(s.addr, random_loopback(), "/ReportServer", BROWSER).await;
    assert_eq!(a.status, 200);
    assert_eq!(state(&s).sign_in_stats().gates, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_slow_down_then_lock_out_with_retry_after() {
    let _turn = TURN.lock().await;
    let s = server(5, 3).await;
    let here = IpAddr::V4(Ipv4Addr::LOCALHOST);
    // The administrator signs in first (cached).
    assert_eq!(
        request(s.addr, here, "/ReportServer", ADMIN).await.status,
        200
    );
    let mut took = Vec::new();
    for _ in 0..5 {
        let a = request(s.addr, here, "/ReportServer", (BROWSER.0, "wrong-password")).await;
        assert_eq!(a.status, 401);
        took.push(a.took);
    }
    println!("wrong-password answers: {took:?}");
    // Two free, then at least 250, 500, 1000 ms (the delays; the hash comes on top). The
    // lower bounds hold on any machine; how fast the free ones are depends on its load.
    for (i, at_least) in [(2, 250), (3, 500), (4, 1000)] {
        assert!(took[i] >= Duration::from_millis(at_least), "{took:?}");
    }
    // Locked: refused at once, with Retry-After, also with the right password.
    for pw in ["wrong-password", BROWSER.1] {
        let a = request(s.addr, here, "/ReportServer", (BROWSER.0, pw)).await;
        assert_eq!(a.status, 429, "{pw}");
        let secs = a.retry_after.expect("Retry-After");
        assert!((1..=3).contains(&secs), "{secs}");
        assert!(a.took < Duration::from_millis(200), "{:?}", a.took);
    }
    // The name is locked, not the administrator with a cached credential.
    assert_eq!(
        request(s.addr, here, "/ReportServer", ADMIN).await.status,
        200
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let a = request(s.addr, here, "/ReportServer", BROWSER).await;
    assert_eq!(a.status, 200, "the lockout ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_attempts_does_not_delay_the_signed_in_admin() {
    let _turn = TURN.lock().await;
    let s = server(5, 120).await;
    let here = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert_eq!(
        request(s.addr, here, "/ReportServer", ADMIN).await.status,
        200
    );
    let before = state(&s).verifications();
    let flood: Vec<_> = (0..300)
        .map(|i| {
            let addr = s.addr;
            tokio::spawn(async move {
                let pw = format!("guess-{i}");
                request(addr, random_loopback(), "/ReportServer", (ADMIN.0, &pw))
                    .await
                    .status
            })
        })
        .collect();
    let mut lat = Vec::new();
    for _ in 0..60 {
        let a = request(s.addr, here, "/ReportServer", ADMIN).await;
        assert_eq!(a.status, 200);
        lat.push(a.took);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut by_status = std::collections::BTreeMap::new();
    for f in flood {
        *by_status.entry(f.await.unwrap()).or_insert(0) += 1;
    }
    let kdfs = state(&s).verifications() - before;
    let (p50, p99) = (percentile(lat.clone(), 0.5), percentile(lat, 0.99));
    println!("flood answers {by_status:?}, {kdfs} KDFs; admin p50 {p50:?} p99 {p99:?}");
    assert!(p99 < CACHED_P99_CEILING, "p99 {p99:?}");
    assert!(kdfs <= 5, "the name locks after 5 attempts: {kdfs} KDFs");
    assert_eq!(by_status.get(&401), Some(&5), "{by_status:?}");
    assert_eq!(by_status.get(&429), Some(&295), "{by_status:?}");
    settle(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_take_as_long_as_known_ones() {
    let _turn = TURN.lock().await;
    let s = server(5, 120).await;
    let c = s.env.catalog.as_ref().unwrap();
    let hash = catalog::password::hash("some long password").unwrap();
    for i in 0..24 {
        c.add_user(&NewUser {
            name: format!("known-{i}"),
            password_hash: hash.clone(),
            system_roles: vec![Role::SystemUser],
        })
        .await
        .unwrap();
    }
    state(&s).catalog_changed();
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..24 {
        // Interleaved, each name and address once: no throttle delay on either side.
        let k = format!("known-{i}");
        let a = request(s.addr, random_loopback(), "/ReportServer", (&k, "wrong pw")).await;
        assert_eq!(a.status, 401);
        known.push(a.took);
        let u = format!("unknown-{i}");
        let a = request(s.addr, random_loopback(), "/ReportServer", (&u, "wrong pw")).await;
        assert_eq!(a.status, 401);
        unknown.push(a.took);
    }
    let (mk, mu) = (percentile(known, 0.5), percentile(unknown, 0.5));
    println!("median known {mk:?}, unknown {mu:?}");
    let ratio = mu.as_secs_f64() / mk.as_secs_f64();
    assert!(
        (0.5..=2.0).contains(&ratio),
        "unknown names are told apart by timing: known {mk:?}, unknown {mu:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_user_or_changing_a_password_takes_effect_at_once() {
    let _turn = TURN.lock().await;
    let e = env(true).await;
    let app = standalone(e.state.clone());
    for who in [ADMIN, BROWSER, PUBLISHER] {
        assert_eq!(get(&app, "/ReportServer", Some(who)).await.status, 200);
    }
    // Only System Administrators see the page and the JSON.
    assert_eq!(
        get(&app, "/Reports/manage/users", Some(BROWSER))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&app, "/Reports/api/v2.0/Users", Some(BROWSER))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Linked from the portal's pages for System Administrators only.
    let home = get(&app, "/Reports/", Some(ADMIN)).await;
    assert!(
        home.body.contains("href=\"/Reports/manage/users\""),
        "{}",
        home.body
    );
    let home = get(&app, "/Reports/", Some(BROWSER)).await;
    assert!(!home.body.contains("/manage/users"), "{}", home.body);
    let page = get(&app, "/Reports/manage/users", Some(ADMIN)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("bob") && page.body.contains("pat"));
    let token = csrf_in(&page.body);

    // Change bob's password: the old one stops working at the next request.
    let r = post_form(
        &app,
        "/Reports/manage/users/password",
        ADMIN,
        &[
            ("csrf", &token),
            ("name", "bob"),
            ("password", "bob-new-password"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        get(&app, "/ReportServer", Some(BROWSER)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&app, "/ReportServer", Some(("bob", "bob-new-password")))
            .await
            .status,
        StatusCode::OK
    );
    // A short password is refused with the policy.
    let r = post_form(
        &app,
        "/Reports/manage/users/password",
        ADMIN,
        &[("csrf", &token), ("name", "bob"), ("password", "short")],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("at least 8"), "{}", r.body);

    // Remove pat: signed in a moment ago, refused now.
    let r = post_form(
        &app,
        "/Reports/manage/users/remove",
        ADMIN,
        &[("csrf", &token), ("name", "pat")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        get(&app, "/ReportServer", Some(PUBLISHER)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The last System Administrator stays.
    let r = post_form(
        &app,
        "/Reports/manage/users/remove",
        ADMIN,
        &[("csrf", &token), ("name", "admin")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("last System Administrator"), "{}", r.body);
    // Without the token nothing happens.
    let r = post_form(
        &app,
        "/Reports/manage/users/remove",
        ADMIN,
        &[("name", "bob")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Add a user with an item role on /: can sign in and read.
    let r = post_form(
        &app,
        "/Reports/manage/users/add",
        ADMIN,
        &[
            ("csrf", &token),
            ("name", "carol"),
            ("password", "carol-password-1"),
            ("role", "Browser"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        get(&app, "/ReportServer", Some(("carol", "carol-password-1")))
            .await
            .status,
        StatusCode::OK
    );
    let json = get(&app, "/Reports/api/v2.0/Users", Some(ADMIN)).await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let names: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "bob", "carol", "nobody"]);
    assert_eq!(v["value"][2]["RootRoles"][0], "Browser");
}

/// A new (uncached) sign-in during a flood of random names from all over 127.0.0.0/8 may
/// take this much longer than one measured without the flood in the same run (plus a
/// factor of that one): the flood's 300 requests cost CPU of their own on 2 shared cores,
/// but a sign-in queued behind flood KDFs would take several seconds.
const NEW_SIGNIN_ALLOWANCE: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_name_flood_does_not_delay_new_signins() {
    let _turn = TURN.lock().await;
    let s = server(5, 120).await;
    // Calibrate the unknown-name timing first (a few real verifications).
    for _ in 0..4 {
        request(
            s.addr,
            random_loopback(),
            "/ReportServer",
            (ADMIN.0, "wrong"),
        )
        .await;
    }
    // A new sign-in without the flood: the baseline for this machine and this run.
    let quiet = request(s.addr, random_loopback(), "/ReportServer", NOBODY).await;
    let ceiling = NEW_SIGNIN_ALLOWANCE + quiet.took * 4;
    let flood: Vec<_> = (0..300)
        .map(|i| {
            let addr = s.addr;
            tokio::spawn(async move {
                let name = format!("flood-{i}-{}", rand::random::<u32>());
                request(addr, random_loopback(), "/ReportServer", (&name, "pw"))
                    .await
                    .status
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before = state(&s).verifications();
    let mut took = Vec::new();
    for who in [BROWSER, PUBLISHER] {
        let a = request(s.addr, random_loopback(), "/ReportServer", who).await;
        assert_eq!(a.status, 200);
        took.push(a.took);
    }
    for f in flood {
        assert_eq!(f.await.unwrap(), 401);
    }
    let kdfs = state(&s).verifications() - before;
    println!(
        "new sign-ins during the flood took {took:?} (without it {:?}); {kdfs} KDFs",
        quiet.took
    );
    assert!(
        took.iter().all(|t| *t < ceiling),
        "new sign-ins were delayed: {took:?} (without the flood {:?})",
        quiet.took
    );
    assert!(kdfs <= 2, "the flood's unknown names got KDFs: {kdfs}");
    settle(&s).await;
}
