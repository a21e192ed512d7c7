//! What HTTP Basic costs per request with and without the verified-credential cache:
//! `argon2id_verify` is what every request would pay without it (the catalog's parameters:
//! 19 MiB, t=2, p=1); `cache_hit` is what a signed-in user pays within the cache TTL
//! (an HMAC-SHA256 and a map lookup under a mutex); `cache_miss_wrong_password` is the
//! cache's own cost before a real verification runs.
//!
//! `folder_page_request` is one whole authenticated Web Service request in-process
//! (`oneshot` on [`webapp::standalone`], a real SQLite catalog): gate, cached credential,
//! `generation()`, cached folder page.
//!
//! Run: `cargo bench -p webapp --bench auth`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use webapp::credentials::{CredentialCache, Principal};

fn auth(c: &mut Criterion) {
    let password = "correct horse battery staple";
    let phc = catalog::password::hash(password).expect("hash");
    let cache = CredentialCache::new(&[42; 32]);
    let principal = Arc::new(Principal {
        name: "alice".into(),
        system_roles: vec![catalog::Role::SystemAdministrator],
    });
    // A realistically filled cache: the lookup is not into an empty map.
    for i in 0..1000 {
        cache.insert(&format!("user{i}"), password, 7, principal.clone());
    }
    cache.insert("alice", password, 7, principal);

    let mut g = c.benchmark_group("basic_auth");
    g.sample_size(20);
    g.bench_function("argon2id_verify", |b| {
        b.iter(|| {
            assert!(catalog::password::verify(
                black_box(password),
                black_box(&phc)
            ))
        })
    });
    g.bench_function("cache_hit", |b| {
        b.iter(|| {
            assert!(
                cache
                    .get(black_box("Alice"), black_box(password), 7)
                    .is_some()
            )
        })
    });
    g.bench_function("cache_miss_wrong_password", |b| {
        b.iter(|| {
            assert!(
                cache
                    .get(black_box("alice"), black_box("wrong"), 7)
                    .is_none()
            )
        })
    });
    g.finish();
}

fn folder_page(c: &mut Criterion) {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let dd = datadir::DataDir::new(dir.path());
    dd.create_dirs().expect("data dir");
    dd.create_instance_key().expect("instance key");
    let mut settings = datadir::Settings::new("bench".into());
    settings.database_url = Some("sqlite:catalog.db".into());
    datadir::Config::write(&dd.config_path(), &settings, &Default::default()).expect("config");
    let state = rt.block_on(async {
        let url = format!("sqlite:{}", dir.path().join("catalog.db").display());
        let cat = catalog::open(&url, true).await.expect("catalog");
        cat.add_user(&catalog::NewUser {
            name: "admin".into(),
            password_hash: catalog::password::hash("admin-password-1").expect("hash"),
            system_roles: vec![catalog::Role::SystemAdministrator],
        })
        .await
        .expect("user");
        for i in 0..20 {
            let p = catalog::ItemPath::parse(&format!("/Folder {i}")).expect("path");
            cat.create_folder(&p, "admin").await.expect("folder");
        }
        webapp::AppState::new(dd.clone(), "0.0.0-bench").expect("state")
    });
    let generation_catalog = rt.block_on(async {
        let url = format!("sqlite:{}", dir.path().join("catalog.db").display());
        catalog::open(&url, false).await.expect("catalog")
    });
    let app = webapp::standalone(state);
    let auth = "Basic YWRtaW46YWRtaW4tcGFzc3dvcmQtMQ=="; // admin:admin-password-1
    let request = |app: axum::Router| async move {
        let req = http::Request::get("/ReportServer?%2f")
            .header("host", "bench.test")
            .header("authorization", auth)
            .body(Body::empty())
            .expect("request");
        let resp = app.oneshot(req).await.expect("infallible");
        assert_eq!(resp.status(), 200);
        resp.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .len()
    };
    rt.block_on(request(app.clone())); // warm: one KDF, one rendering

    let mut g = c.benchmark_group("webservice");
    // The one catalog read every request makes (part of folder_page_request).
    g.bench_function("catalog_generation", |b| {
        b.iter(|| {
            rt.block_on(generation_catalog.generation())
                .expect("generation")
        })
    });
    g.bench_function("folder_page_request", |b| {
        b.iter(|| rt.block_on(request(app.clone())))
    });
    g.finish();
}

criterion_group!(benches, auth, folder_page);
criterion_main!(benches);
