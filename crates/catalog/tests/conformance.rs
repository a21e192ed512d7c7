//! The catalog conformance suite: one set of behaviours, written once against
//! `SharedCatalog`, run against SQLite (a temp dir, always) and PostgreSQL (a fresh database
//! per test on the server named by `REPORTD_TEST_PG_URL`, dropped afterwards; skipped with a
//! message when the variable is absent).
//!
//! Backend-specific tests (file modes, foreign databases, unreachable servers) follow the
//! shared suite.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::{Duration, Instant};

use catalog::{
    CatalogItem, Error, ItemPath, ItemProperties, ItemType, NewItem, NewUser, Policy, Role,
    SCHEMA_VERSION, SharedCatalog, password,
};
use sqlx::{Connection, Executor};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------
// Harness

/// A catalog under test, with the URL to open it again (a second handle, as a second
/// process would).
struct Fixture {
    url: String,
    cat: SharedCatalog,
    _dir: Option<TempDir>,
}

impl Fixture {
    async fn reopen(&self) -> SharedCatalog {
        catalog::open(&self.url, false).await.expect("reopen")
    }
}

type Suite = fn(Fixture) -> Pin<Box<dyn Future<Output = ()> + Send>>;

async fn run_sqlite(test: Suite) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("catalog.db").display());
    let cat = catalog::open(&url, true).await.expect("open sqlite");
    assert_eq!(cat.backend(), "sqlite");
    test(Fixture {
        url,
        cat,
        _dir: Some(dir),
    })
    .await;
}

fn pg_base_url() -> Option<String> {
    let url = std::env::var("REPORTD_TEST_PG_URL")
        .ok()
        .filter(|s| !s.is_empty());
    assert!(
        url.is_some() || std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but REPORTD_TEST_PG_URL is not set: the PostgreSQL suite must run under CI"
    );
    url
}

/// `base` with its database replaced by `db` (percent-encoded by the caller if needed).
fn pg_url_with_db(base: &str, db: &str) -> String {
    let (main, query) = match base.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (base, String::new()),
    };
    let scheme_end = main.find("://").expect("postgres URL has ://") + 3;
    let authority_end = main[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(main.len());
    format!("{}/{db}{query}", &main[..authority_end])
}

fn unique_db_name() -> String {
    format!("reportd_conf_{}", uuid::Uuid::new_v4().simple())
}

async fn pg_admin(base: &str) -> sqlx::PgConnection {
    let opts = sqlx::postgres::PgConnectOptions::from_str(base).unwrap();
    sqlx::PgConnection::connect_with(&opts)
        .await
        .expect("connect to REPORTD_TEST_PG_URL")
}

async fn drop_pg_database(base: &str, name: &str) {
    let mut admin = pg_admin(base).await;
    let sql = format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        name.replace('"', "\"\"")
    );
    if let Err(e) = (&mut admin).execute(sqlx::raw_sql(&sql)).await {
        eprintln!("warning: could not drop test database {name}: {e}");
    }
}

async fn pg_database_exists(base: &str, name: &str) -> bool {
    let mut admin = pg_admin(base).await;
    sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut admin)
        .await
        .unwrap()
}

async fn run_postgres(test: Suite) {
    let Some(base) = pg_base_url() else {
        println!("skipped: REPORTD_TEST_PG_URL not set");
        return;
    };
    let name = unique_db_name();
    let url = pg_url_with_db(&base, &name);
    let cat = catalog::open(&url, true).await.expect("open postgres");
    assert_eq!(cat.backend(), "postgresql");
    // Run in a task so that a failing test still drops its database.
    let outcome = tokio::spawn(test(Fixture {
        url,
        cat,
        _dir: None,
    }))
    .await;
    drop_pg_database(&base, &name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Declares each suite function as a test on both backends.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::run_sqlite(|f| Box::pin(crate::$name(f))).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::run_postgres(|f| Box::pin(crate::$name(f))).await;
                }
            )*
        }
    };
}

conformance!(
    fresh_catalog_has_root_and_current_schema,
    paths_are_case_insensitive_and_keep_their_spelling,
    names_with_punctuation_roundtrip,
    deleting_a_folder_spares_siblings_with_similar_names,
    create_list_get_put_overwrite_delete,
    parent_must_exist_and_be_a_folder,
    content_roundtrips_binary_and_one_mebibyte,
    content_reads_by_range_and_notices_replacement,
    properties_change_and_are_checked,
    policies_inherit_break_and_restore,
    users_add_get_roles_and_hashes,
    generation_changes_on_every_write_and_never_on_reads,
    second_handle_sees_changes,
    concurrent_writers_on_two_handles_all_succeed,
    hostile_inputs_are_refused,
    reopening_with_create_keeps_the_catalog,
    the_last_system_administrator_stays,
    concurrent_removals_keep_one_administrator,
    items_are_found_by_their_stable_id,
    items_move_with_everything_below_them,
);

// ---------------------------------------------------------------------------------------
// Helpers

fn p(s: &str) -> ItemPath {
    ItemPath::parse(s).unwrap()
}

fn item<'a>(path: &'a ItemPath, t: ItemType, content: &'a [u8]) -> NewItem<'a> {
    NewItem {
        path,
        item_type: t,
        content,
        mime_type: None,
        description: "",
        by: "tester",
        overwrite: false,
    }
}

async fn report(c: &SharedCatalog, path: &str, content: &[u8]) -> CatalogItem {
    let path = p(path);
    c.put_item(item(&path, ItemType::Report, content))
        .await
        .unwrap()
}

async fn folder(c: &SharedCatalog, path: &str) -> CatalogItem {
    c.create_folder(&p(path), "tester").await.unwrap()
}

fn names(items: &[CatalogItem]) -> Vec<&str> {
    items.iter().map(|i| i.name.as_str()).collect()
}

fn policy(user: &str, roles: &[Role]) -> Policy {
    Policy {
        user: user.into(),
        roles: roles.to_vec(),
    }
}

// ---------------------------------------------------------------------------------------
// The shared suite

async fn fresh_catalog_has_root_and_current_schema(f: Fixture) {
    let c = &f.cat;
    assert_eq!(c.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(c.item_count().await.unwrap(), 0);
    let root = c.get_item(&ItemPath::root()).await.unwrap().unwrap();
    assert_eq!(root.item_type, ItemType::Folder);
    assert!(root.path.is_root());
    assert_eq!(root.name, "");
    assert_eq!(root.size, 0);
    assert_eq!(
        c.get_policies(&ItemPath::root()).await.unwrap(),
        Some(vec![]),
        "the root has its own, empty, role assignments"
    );
    assert!(c.list_children(&ItemPath::root()).await.unwrap().is_empty());
    assert!(matches!(
        c.create_folder(&ItemPath::root(), "x").await,
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(
        c.delete_item(&ItemPath::root()).await,
        Err(Error::Root)
    ));
    assert!(matches!(
        c.set_policies(&ItemPath::root(), None).await,
        Err(Error::Root)
    ));
    let r = ItemPath::root();
    assert!(matches!(
        c.put_item(item(&r, ItemType::Report, b"x")).await,
        Err(Error::Root)
    ));
    assert!(c.list_users().await.unwrap().is_empty());
}

async fn paths_are_case_insensitive_and_keep_their_spelling(f: Fixture) {
    let c = &f.cat;
    let made = folder(c, "/Sales Reports").await;
    assert_eq!(made.path.as_str(), "/Sales Reports");
    let got = c.get_item(&p("/sales reports")).await.unwrap().unwrap();
    assert_eq!(
        got.path.as_str(),
        "/Sales Reports",
        "stored spelling is kept"
    );
    assert_eq!(got.id, made.id);
    assert!(matches!(
        c.create_folder(&p("/SALES REPORTS"), "x").await,
        Err(Error::AlreadyExists(_))
    ));
    report(c, "/sales reports/Q1 Summary", b"<Report/>").await;
    let kids = c.list_children(&p("/SALES REPORTS")).await.unwrap();
    assert_eq!(names(&kids), ["Q1 Summary"]);
    assert_eq!(kids[0].path.as_str(), "/Sales Reports/Q1 Summary");
    assert_eq!(
        c.get_content(&p("/SALES REPORTS/q1 summary"))
            .await
            .unwrap(),
        b"<Report/>"
    );
    // Unicode case folding, not only ASCII.
    folder(c, "/Übersicht").await;
    assert!(c.get_item(&p("/übersicht")).await.unwrap().is_some());
    assert!(matches!(
        c.create_folder(&p("/ÜBERSICHT"), "x").await,
        Err(Error::AlreadyExists(_))
    ));
    c.delete_item(&p("/ÜBERSICHT")).await.unwrap();
    assert!(c.get_item(&p("/Übersicht")).await.unwrap().is_none());
}

async fn names_with_punctuation_roundtrip(f: Fixture) {
    let c = &f.cat;
    let odd = [
        "Sales Reports",
        "O'Brien's \"Quoted\" Report",
        "R&D 100% #1?",
        "Umsätze 2024 — Überblick",
        "日本語のレポート 😀",
        "semi;colon,comma",
        "Percent%20Encoded",
        "under_score",
        "Robert'); DROP TABLE items;--",
        "back`tick $dollar @at +plus =eq <lt> |pipe",
    ];
    for name in odd {
        let dir = ItemPath::root().join(name).unwrap();
        c.create_folder(&dir, "tester").await.unwrap();
        let inner = dir.join(name).unwrap();
        c.put_item(item(&inner, ItemType::Report, name.as_bytes()))
            .await
            .unwrap();
        // Found again through a re-parsed, upper-cased spelling.
        let again = ItemPath::parse(&inner.as_str().to_uppercase()).unwrap();
        let got = c.get_item(&again).await.unwrap().unwrap();
        assert_eq!(got.name, name);
        assert_eq!(got.path.as_str(), inner.as_str());
        assert_eq!(c.get_content(&again).await.unwrap(), name.as_bytes());
        let kids = c.list_children(&dir).await.unwrap();
        assert_eq!(names(&kids), [name]);
    }
    let top = c.list_children(&ItemPath::root()).await.unwrap();
    assert_eq!(top.len(), odd.len());
    assert_eq!(c.item_count().await.unwrap(), 2 * odd.len() as i64);
}

async fn deleting_a_folder_spares_siblings_with_similar_names(f: Fixture) {
    let c = &f.cat;
    // Siblings whose keys sort right around "/a" and "/a/": ' ', '-', '.', '0' (the upper
    // bound of the range), longer names, and LIKE wildcards.
    for name in ["A", "A B", "A-x", "A.x", "A0", "AB", "A_", "A%"] {
        folder(c, &format!("/{name}")).await;
        report(c, &format!("/{name}/r"), b"x").await;
    }
    folder(c, "/A/sub").await;
    report(c, "/A/sub/deep", b"x").await;
    c.delete_item(&p("/a")).await.unwrap();
    let left = c.list_children(&ItemPath::root()).await.unwrap();
    let mut left_names = names(&left);
    left_names.sort();
    assert_eq!(left_names, ["A B", "A%", "A-x", "A.x", "A0", "AB", "A_"]);
    for name in ["A B", "A-x", "A.x", "A0", "AB", "A_", "A%"] {
        assert!(
            c.get_item(&p(&format!("/{name}/r")))
                .await
                .unwrap()
                .is_some(),
            "/{name}/r must survive deleting /A"
        );
    }
    assert!(c.get_item(&p("/A/sub/deep")).await.unwrap().is_none());
    assert_eq!(c.item_count().await.unwrap(), 14);
    // A wildcard-named folder deletes only itself.
    c.delete_item(&p("/A_")).await.unwrap();
    c.delete_item(&p("/A%")).await.unwrap();
    assert_eq!(c.item_count().await.unwrap(), 10);
}

async fn create_list_get_put_overwrite_delete(f: Fixture) {
    let c = &f.cat;
    folder(c, "/Sales").await;
    let q1 = report(c, "/Sales/Q1.rdl", b"<Report>v1</Report>").await;
    assert_eq!(q1.item_type, ItemType::Report);
    assert_eq!(q1.size, 19);
    assert_eq!(q1.created_by, "tester");
    assert_eq!(q1.name, "Q1.rdl");
    assert!(!q1.hidden);
    let ds = p("/Sales/DS");
    c.put_item(item(&ds, ItemType::DataSource, b"<DataSource/>"))
        .await
        .unwrap();
    let logo = p("/Sales/logo.png");
    let png = c
        .put_item(NewItem {
            mime_type: Some("image/png"),
            description: "the logo",
            ..item(&logo, ItemType::Resource, b"\x89PNG")
        })
        .await
        .unwrap();
    assert_eq!(png.mime_type.as_deref(), Some("image/png"));
    assert_eq!(png.description, "the logo");
    folder(c, "/Sales/archive").await;
    folder(c, "/Sales/Zeta").await;
    report(c, "/Sales/beta", b"b").await;

    let kids = c.list_children(&p("/Sales")).await.unwrap();
    assert_eq!(
        names(&kids),
        ["archive", "Zeta", "beta", "DS", "logo.png", "Q1.rdl"],
        "folders first, then by name ignoring case"
    );
    assert_eq!(c.item_count().await.unwrap(), 7);
    assert_eq!(c.get_item(&p("/Sales/Q1.rdl")).await.unwrap().unwrap(), q1);

    // Without overwrite: refused. With it: same id and creation, new content.
    let q1p = p("/sales/q1.RDL");
    assert!(matches!(
        c.put_item(item(&q1p, ItemType::Report, b"v2")).await,
        Err(Error::AlreadyExists(_))
    ));
    let v2 = c
        .put_item(NewItem {
            overwrite: true,
            by: "editor",
            ..item(&q1p, ItemType::Report, b"<Report>v2, longer</Report>")
        })
        .await
        .unwrap();
    assert_eq!(v2.id, q1.id);
    assert_eq!(
        v2.path.as_str(),
        "/Sales/Q1.rdl",
        "spelling of creation kept"
    );
    assert_eq!(v2.created_at, q1.created_at);
    assert_eq!(v2.created_by, "tester");
    assert_eq!(v2.modified_by, "editor");
    assert!(v2.modified_at >= q1.modified_at);
    assert_eq!(v2.size, 27);
    assert_eq!(
        c.get_content(&q1p).await.unwrap(),
        b"<Report>v2, longer</Report>"
    );
    // An empty description keeps the old one; a given one replaces it.
    let png2 = c
        .put_item(NewItem {
            overwrite: true,
            mime_type: Some("image/png"),
            ..item(&logo, ItemType::Resource, b"\x89PNG2")
        })
        .await
        .unwrap();
    assert_eq!(png2.description, "the logo");
    let png3 = c
        .put_item(NewItem {
            overwrite: true,
            description: "new logo",
            mime_type: Some("image/png"),
            ..item(&logo, ItemType::Resource, b"\x89PNG3")
        })
        .await
        .unwrap();
    assert_eq!(png3.description, "new logo");

    // Another type at the same path: a clear conflict, nothing changed.
    let e = c
        .put_item(NewItem {
            overwrite: true,
            ..item(&q1p, ItemType::Resource, b"x")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::TypeConflict {
                existing: ItemType::Report,
                new: ItemType::Resource,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("delete it first"), "{e}");
    assert_eq!(
        c.get_content(&q1p).await.unwrap(),
        b"<Report>v2, longer</Report>"
    );
    let archive = p("/Sales/archive");
    assert!(matches!(
        c.put_item(NewItem {
            overwrite: true,
            ..item(&archive, ItemType::Report, b"x")
        })
        .await,
        Err(Error::TypeConflict {
            existing: ItemType::Folder,
            ..
        })
    ));
    assert!(matches!(
        c.put_item(item(&p("/Sales/f"), ItemType::Folder, b""))
            .await,
        Err(Error::Invalid(_))
    ));

    // Listing something that is not a folder, or nothing.
    assert!(matches!(
        c.list_children(&q1p).await,
        Err(Error::Invalid(m)) if m.contains("not a folder")
    ));
    assert!(matches!(
        c.list_children(&p("/Nope")).await,
        Err(Error::NotFound(_))
    ));
    assert!(c.get_item(&p("/Nope")).await.unwrap().is_none());

    // Delete one item, then a whole subtree.
    c.delete_item(&q1p).await.unwrap();
    assert!(c.get_item(&q1p).await.unwrap().is_none());
    assert!(matches!(c.delete_item(&q1p).await, Err(Error::NotFound(_))));
    folder(c, "/Sales/archive/2023").await;
    report(c, "/Sales/archive/2023/deep", b"d").await;
    c.set_policies(
        &p("/Sales/archive"),
        Some(&[policy("alice", &[Role::Browser])]),
    )
    .await
    .unwrap();
    folder(c, "/Salesforce").await;
    c.delete_item(&p("/SALES")).await.unwrap();
    for gone in [
        "/Sales",
        "/Sales/archive",
        "/Sales/archive/2023/deep",
        "/Sales/DS",
    ] {
        assert!(c.get_item(&p(gone)).await.unwrap().is_none(), "{gone}");
    }
    assert!(c.get_item(&p("/Salesforce")).await.unwrap().is_some());
    assert_eq!(c.item_count().await.unwrap(), 1);
    // The deleted folder's role assignments went with it.
    folder(c, "/Sales").await;
    folder(c, "/Sales/archive").await;
    assert_eq!(c.get_policies(&p("/Sales/archive")).await.unwrap(), None);
    assert!(
        c.effective_roles(&p("/Sales/archive"), "alice")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn parent_must_exist_and_be_a_folder(f: Fixture) {
    let c = &f.cat;
    assert!(matches!(
        c.create_folder(&p("/A/B"), "t").await,
        Err(Error::ParentMissing(x)) if x == p("/a/b")
    ));
    let r = p("/A/r");
    assert!(matches!(
        c.put_item(item(&r, ItemType::Report, b"x")).await,
        Err(Error::ParentMissing(_))
    ));
    report(c, "/R", b"x").await;
    assert!(matches!(
        c.create_folder(&p("/R/x"), "t").await,
        Err(Error::ParentMissing(_))
    ));
    let under = p("/r/y");
    let e = c
        .put_item(item(&under, ItemType::Resource, b"x"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ParentMissing(_)));
    assert!(e.to_string().contains("create it first"), "{e}");
    assert_eq!(c.item_count().await.unwrap(), 1);
}

async fn content_reads_by_range_and_notices_replacement(f: Fixture) {
    let c = &f.cat;
    let data: Vec<u8> = (0..300_000usize).map(|i| (i * 7 + i / 251) as u8).collect();
    let path = p("/ranged.bin");
    let made = c
        .put_item(item(&path, ItemType::Resource, &data))
        .await
        .unwrap();
    let item = c.get_item(&path).await.unwrap().unwrap();
    assert_eq!(item.modified_at, made.modified_at);
    // Chunks of 64 KiB put back together are the content, the last one short.
    let mut joined = Vec::new();
    let mut offset = 0u64;
    loop {
        let chunk = c
            .read_content_range(&item, offset, 65_536)
            .await
            .unwrap()
            .expect("unchanged item");
        assert!(chunk.len() <= 65_536);
        if chunk.is_empty() {
            break;
        }
        offset += chunk.len() as u64;
        joined.extend_from_slice(&chunk);
    }
    assert_eq!(joined, data);
    assert_eq!(
        c.read_content_range(&item, 1, 3).await.unwrap().unwrap(),
        &data[1..4]
    );
    assert_eq!(
        c.read_content_range(&item, 299_998, 10)
            .await
            .unwrap()
            .unwrap(),
        &data[299_998..]
    );
    assert!(
        c.read_content_range(&item, 10_000_000, 10)
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    );
    // Replaced (same length, other bytes): the old version's reader is told, not served
    // a mix of the two.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let other = vec![0xAAu8; data.len()];
    c.put_item(NewItem {
        overwrite: true,
        ..item_of(&path, &other)
    })
    .await
    .unwrap();
    assert_eq!(c.read_content_range(&item, 0, 16).await.unwrap(), None);
    let fresh = c.get_item(&path).await.unwrap().unwrap();
    assert_eq!(
        c.read_content_range(&fresh, 0, 4).await.unwrap().unwrap(),
        [0xAA; 4]
    );
    c.delete_item(&path).await.unwrap();
    assert_eq!(c.read_content_range(&fresh, 0, 4).await.unwrap(), None);
}

fn item_of<'a>(path: &'a ItemPath, content: &'a [u8]) -> NewItem<'a> {
    item(path, ItemType::Resource, content)
}

async fn content_roundtrips_binary_and_one_mebibyte(f: Fixture) {
    let c = &f.cat;
    let big: Vec<u8> = (0..1usize << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    assert!(big.contains(&0) && big.contains(&0xff));
    let path = p("/blob.bin");
    let made = c
        .put_item(NewItem {
            mime_type: Some("application/octet-stream"),
            ..item(&path, ItemType::Resource, &big)
        })
        .await
        .unwrap();
    assert_eq!(made.size, 1 << 20);
    assert_eq!(c.get_content(&path).await.unwrap(), big);

    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let small = p("/all-bytes");
    c.put_item(item(&small, ItemType::Resource, &all_bytes))
        .await
        .unwrap();
    assert_eq!(c.get_content(&small).await.unwrap(), all_bytes);

    // Replacing with a shorter content leaves nothing of the old one.
    c.put_item(NewItem {
        overwrite: true,
        ..item(&path, ItemType::Resource, b"tiny")
    })
    .await
    .unwrap();
    assert_eq!(c.get_content(&path).await.unwrap(), b"tiny");
    assert_eq!(c.get_item(&path).await.unwrap().unwrap().size, 4);

    let empty = p("/empty");
    c.put_item(item(&empty, ItemType::Resource, b""))
        .await
        .unwrap();
    assert_eq!(c.get_content(&empty).await.unwrap(), b"");

    folder(c, "/dir").await;
    assert!(matches!(
        c.get_content(&p("/dir")).await,
        Err(Error::Invalid(m)) if m.contains("folder")
    ));
    assert!(matches!(
        c.get_content(&p("/missing")).await,
        Err(Error::NotFound(_))
    ));
}

async fn properties_change_and_are_checked(f: Fixture) {
    let c = &f.cat;
    let made = report(c, "/R", b"x").await;
    let props = ItemProperties {
        description: "Quarterly \"numbers\" — O'Brien".into(),
        hidden: true,
    };
    let changed = c.set_properties(&p("/r"), &props, "editor").await.unwrap();
    assert_eq!(changed.description, props.description);
    assert!(changed.hidden);
    assert_eq!(changed.modified_by, "editor");
    assert_eq!(changed.created_by, "tester");
    assert_eq!(changed.id, made.id);
    assert_eq!(c.get_item(&p("/R")).await.unwrap().unwrap(), changed);
    // Properties are not content.
    assert_eq!(c.get_content(&p("/R")).await.unwrap(), b"x");

    assert!(matches!(
        c.set_properties(&p("/nope"), &props, "e").await,
        Err(Error::NotFound(_))
    ));
    let nul = ItemProperties {
        description: "a\0b".into(),
        hidden: false,
    };
    assert!(matches!(
        c.set_properties(&p("/R"), &nul, "e").await,
        Err(Error::Invalid(_))
    ));
    let long = ItemProperties {
        description: "d".repeat(100_000),
        hidden: false,
    };
    assert!(matches!(
        c.set_properties(&p("/R"), &long, "e").await,
        Err(Error::Invalid(m)) if m.contains("too long")
    ));
    assert_eq!(c.get_item(&p("/R")).await.unwrap().unwrap(), changed);
}

async fn policies_inherit_break_and_restore(f: Fixture) {
    let c = &f.cat;
    let root = ItemPath::root();
    c.set_policies(
        &root,
        Some(&[
            policy("Bob", &[Role::Publisher, Role::ContentManager]),
            policy("alice", &[Role::Browser]),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        c.get_policies(&root).await.unwrap().unwrap(),
        [
            policy("alice", &[Role::Browser]),
            policy("Bob", &[Role::ContentManager, Role::Publisher]),
        ]
    );
    folder(c, "/Finance").await;
    folder(c, "/Finance/Reports").await;
    report(c, "/Finance/Reports/r", b"x").await;
    let r = p("/finance/reports/R");
    assert_eq!(
        c.effective_roles(&r, "ALICE").await.unwrap(),
        [Role::Browser]
    );
    assert_eq!(
        c.effective_roles(&r, "bob").await.unwrap(),
        [Role::ContentManager, Role::Publisher]
    );
    assert!(c.effective_roles(&r, "carol").await.unwrap().is_empty());
    // A path that does not exist yet takes the roles of its nearest ancestor.
    assert_eq!(
        c.effective_roles(&p("/Finance/not/yet"), "alice")
            .await
            .unwrap(),
        [Role::Browser]
    );
    assert_eq!(c.get_policies(&p("/Finance")).await.unwrap(), None);

    // Break inheritance on /Finance.
    c.set_policies(&p("/FINANCE"), Some(&[policy("carol", &[Role::Publisher])]))
        .await
        .unwrap();
    assert!(c.effective_roles(&r, "alice").await.unwrap().is_empty());
    assert_eq!(
        c.effective_roles(&r, "Carol").await.unwrap(),
        [Role::Publisher]
    );
    assert_eq!(
        c.effective_roles(&root, "alice").await.unwrap(),
        [Role::Browser]
    );
    assert!(c.effective_roles(&root, "carol").await.unwrap().is_empty());
    // Own assignments that grant nobody anything.
    c.set_policies(&p("/Finance"), Some(&[])).await.unwrap();
    assert_eq!(c.get_policies(&p("/Finance")).await.unwrap(), Some(vec![]));
    assert!(c.effective_roles(&r, "carol").await.unwrap().is_empty());
    assert!(c.effective_roles(&r, "alice").await.unwrap().is_empty());
    // A deeper item breaks again, then everything is restored.
    c.set_policies(
        &p("/Finance/Reports"),
        Some(&[policy("dave", &[Role::Browser])]),
    )
    .await
    .unwrap();
    assert_eq!(
        c.effective_roles(&r, "dave").await.unwrap(),
        [Role::Browser]
    );
    c.set_policies(&p("/Finance/Reports"), None).await.unwrap();
    c.set_policies(&p("/Finance"), None).await.unwrap();
    assert_eq!(c.get_policies(&p("/Finance")).await.unwrap(), None);
    assert_eq!(
        c.effective_roles(&r, "alice").await.unwrap(),
        [Role::Browser]
    );
    assert!(c.effective_roles(&r, "dave").await.unwrap().is_empty());

    // The same user twice merges; system roles and bad input are refused.
    c.set_policies(
        &p("/Finance"),
        Some(&[
            policy("erin", &[Role::Browser]),
            policy("ERIN", &[Role::Publisher, Role::Browser]),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        c.get_policies(&p("/Finance")).await.unwrap().unwrap(),
        [policy("erin", &[Role::Publisher, Role::Browser])]
    );
    assert!(matches!(
        c.set_policies(&p("/Finance"), Some(&[policy("x", &[Role::SystemAdministrator])]))
            .await,
        Err(Error::Invalid(m)) if m.contains("system role")
    ));
    assert!(matches!(
        c.set_policies(&p("/Finance"), Some(&[policy("x", &[])]))
            .await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        c.set_policies(&p("/Nope"), Some(&[])).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        c.get_policies(&p("/Nope")).await,
        Err(Error::NotFound(_))
    ));
    // The refused changes left the earlier assignments in place.
    assert_eq!(
        c.get_policies(&p("/Finance")).await.unwrap().unwrap(),
        [policy("erin", &[Role::Publisher, Role::Browser])]
    );

    // Deleting a user removes their assignments, so a new user of that name starts with none.
    let hash = password::hash("a long password").unwrap();
    c.add_user(&NewUser {
        name: "alice".into(),
        password_hash: hash.clone(),
        system_roles: vec![],
    })
    .await
    .unwrap();
    c.delete_user("Alice").await.unwrap();
    assert!(c.effective_roles(&root, "alice").await.unwrap().is_empty());
    assert_eq!(
        c.get_policies(&root).await.unwrap().unwrap(),
        [policy("Bob", &[Role::ContentManager, Role::Publisher])]
    );
}

async fn users_add_get_roles_and_hashes(f: Fixture) {
    let c = &f.cat;
    let pw = "correct horse battery staple";
    let hash = password::hash(pw).unwrap();
    c.add_user(&NewUser {
        name: "admin".into(),
        password_hash: hash.clone(),
        system_roles: vec![Role::SystemAdministrator],
    })
    .await
    .unwrap();
    c.add_user(&NewUser {
        name: "Jane Doe".into(),
        password_hash: hash.clone(),
        system_roles: vec![],
    })
    .await
    .unwrap();
    assert!(matches!(
        c.add_user(&NewUser {
            name: "ADMIN".into(),
            password_hash: hash.clone(),
            system_roles: vec![],
        })
        .await,
        Err(Error::UserExists(n)) if n == "ADMIN"
    ));

    let admin = c.get_user("Admin").await.unwrap().unwrap();
    assert_eq!(admin.name, "admin");
    assert!(admin.is_system_admin());
    assert_eq!(admin.system_roles, [Role::SystemAdministrator]);
    assert_eq!(admin.password_hash, hash);
    assert!(admin.password_hash.starts_with("$argon2id$"));
    assert!(!admin.password_hash.contains(pw));
    assert!(password::verify(pw, &admin.password_hash));
    assert!(!password::verify("wrong password", &admin.password_hash));
    assert!(
        !format!("{admin:?}").contains(&hash),
        "Debug hides the hash"
    );
    assert!(c.get_user("nobody").await.unwrap().is_none());

    // A plaintext "hash", an item role as system role, bad names: refused.
    assert!(matches!(
        c.add_user(&NewUser {
            name: "plain".into(),
            password_hash: pw.into(),
            system_roles: vec![],
        })
        .await,
        Err(Error::Invalid(m)) if m.contains("PHC")
    ));
    assert!(matches!(
        c.add_user(&NewUser {
            name: "pub".into(),
            password_hash: hash.clone(),
            system_roles: vec![Role::Publisher],
        })
        .await,
        Err(Error::Invalid(m)) if m.contains("item role")
    ));
    for bad in ["", "a:b", "tab\there", " lead", "x".repeat(300).as_str()] {
        assert!(
            matches!(
                c.add_user(&NewUser {
                    name: bad.into(),
                    password_hash: hash.clone(),
                    system_roles: vec![],
                })
                .await,
                Err(Error::Invalid(_))
            ),
            "{bad:?}"
        );
    }

    let all = c.list_users().await.unwrap();
    let listed: Vec<_> = all.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(listed, ["admin", "Jane Doe"]);

    let new_hash = password::hash("another long password").unwrap();
    c.set_password_hash("JANE DOE", &new_hash).await.unwrap();
    let jane = c.get_user("jane doe").await.unwrap().unwrap();
    assert!(password::verify(
        "another long password",
        &jane.password_hash
    ));
    assert!(!password::verify(pw, &jane.password_hash));
    assert!(matches!(
        c.set_password_hash("jane doe", "plaintext").await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        c.set_password_hash("ghost", &new_hash).await,
        Err(Error::UnknownUser(n)) if n == "ghost"
    ));

    c.set_system_roles(
        "Jane Doe",
        &[
            Role::SystemUser,
            Role::SystemAdministrator,
            Role::SystemUser,
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        c.get_user("Jane Doe").await.unwrap().unwrap().system_roles,
        [Role::SystemAdministrator, Role::SystemUser]
    );
    c.set_system_roles("Jane Doe", &[]).await.unwrap();
    assert!(
        c.get_user("Jane Doe")
            .await
            .unwrap()
            .unwrap()
            .system_roles
            .is_empty()
    );
    assert!(matches!(
        c.set_system_roles("Jane Doe", &[Role::Browser]).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        c.set_system_roles("ghost", &[]).await,
        Err(Error::UnknownUser(_))
    ));

    c.delete_user("JANE doe").await.unwrap();
    assert!(c.get_user("Jane Doe").await.unwrap().is_none());
    assert!(matches!(
        c.delete_user("Jane Doe").await,
        Err(Error::UnknownUser(_))
    ));
    assert_eq!(c.list_users().await.unwrap().len(), 1);
}

async fn add(c: &SharedCatalog, name: &str, roles: &[Role]) {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = HASH.get_or_init(|| password::hash("a long password").unwrap());
    c.add_user(&NewUser {
        name: name.into(),
        password_hash: hash.clone(),
        system_roles: roles.to_vec(),
    })
    .await
    .unwrap();
}

async fn the_last_system_administrator_stays(f: Fixture) {
    let c = &f.cat;
    add(c, "Root", &[Role::SystemAdministrator]).await;
    add(c, "reader", &[]).await;
    assert_eq!(c.count_system_administrators().await.unwrap(), 1);
    let before = c.generation().await.unwrap();
    let e = c.delete_user("root").await.unwrap_err();
    assert!(
        matches!(&e, Error::LastAdministrator(n) if n == "Root"),
        "{e:?}"
    );
    assert!(e.to_string().contains("add another one first"), "{e}");
    let e = c
        .set_system_roles("ROOT", &[Role::SystemUser])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::LastAdministrator(_)), "{e:?}");
    assert_eq!(
        c.generation().await.unwrap(),
        before,
        "refused writes change nothing"
    );
    assert!(c.get_user("root").await.unwrap().unwrap().is_system_admin());
    // Users who are not the last administrator go as before.
    c.delete_user("reader").await.unwrap();
    // With a second administrator the first may go, or lose the role.
    add(c, "second", &[Role::SystemAdministrator, Role::SystemUser]).await;
    assert_eq!(c.count_system_administrators().await.unwrap(), 2);
    c.set_system_roles("Root", &[Role::SystemUser])
        .await
        .unwrap();
    assert_eq!(c.count_system_administrators().await.unwrap(), 1);
    assert!(matches!(
        c.delete_user("second").await,
        Err(Error::LastAdministrator(_))
    ));
    c.set_system_roles("Root", &[Role::SystemAdministrator])
        .await
        .unwrap();
    c.delete_user("second").await.unwrap();
    assert_eq!(c.count_system_administrators().await.unwrap(), 1);
    // A changed password invalidates: the generation moves.
    let g = c.generation().await.unwrap();
    c.set_password_hash("root", &password::hash("another long one").unwrap())
        .await
        .unwrap();
    assert!(c.generation().await.unwrap() > g);
}

async fn concurrent_removals_keep_one_administrator(f: Fixture) {
    let c = &f.cat;
    add(c, "a1", &[Role::SystemAdministrator]).await;
    add(c, "a2", &[Role::SystemAdministrator]).await;
    // Two handles, as two processes (or nodes) would remove at once.
    let other = f.reopen().await;
    let (r1, r2) = tokio::join!(c.delete_user("a1"), other.delete_user("a2"));
    assert!(
        r1.is_ok() != r2.is_ok(),
        "exactly one removal succeeds: {r1:?} {r2:?}"
    );
    let refused = if r1.is_err() { r1 } else { r2 };
    assert!(
        matches!(refused, Err(Error::LastAdministrator(_))),
        "{refused:?}"
    );
    assert_eq!(c.count_system_administrators().await.unwrap(), 1);
}

async fn generation_changes_on_every_write_and_never_on_reads(f: Fixture) {
    let c = &f.cat;
    let mut last = c.generation().await.unwrap();

    macro_rules! wrote {
        ($what:expr) => {{
            let out = $what.await.unwrap();
            let now = c.generation().await.unwrap();
            assert!(
                now > last,
                "{} did not change the generation",
                stringify!($what)
            );
            last = now;
            out
        }};
    }
    macro_rules! read {
        ($what:expr) => {{
            let out = $what.await;
            assert_eq!(
                c.generation().await.unwrap(),
                last,
                "{} changed the generation",
                stringify!($what)
            );
            out
        }};
    }

    let d = p("/D");
    let r = p("/D/r");
    wrote!(c.create_folder(&d, "t"));
    wrote!(c.put_item(item(&r, ItemType::Report, b"1")));
    wrote!(c.put_item(NewItem {
        overwrite: true,
        ..item(&r, ItemType::Report, b"2")
    }));
    wrote!(c.set_properties(&r, &ItemProperties::default(), "t"));
    wrote!(c.set_policies(&d, Some(&[policy("u", &[Role::Browser])])));
    wrote!(c.set_policies(&d, None));
    let hash = password::hash("a long password").unwrap();
    wrote!(c.add_user(&NewUser {
        name: "u".into(),
        password_hash: hash.clone(),
        system_roles: vec![],
    }));
    wrote!(c.set_password_hash("u", &hash));
    wrote!(c.set_system_roles("u", &[Role::SystemUser]));

    read!(c.get_item(&r)).unwrap();
    read!(c.list_children(&d)).unwrap();
    read!(c.get_content(&r)).unwrap();
    read!(c.get_policies(&d)).unwrap();
    read!(c.effective_roles(&r, "u")).unwrap();
    read!(c.get_user("u")).unwrap();
    read!(c.list_users()).unwrap();
    read!(c.item_count()).unwrap();
    read!(c.schema_version()).unwrap();

    // Refused writes change nothing, generation included.
    read!(c.create_folder(&d, "t")).unwrap_err();
    read!(c.put_item(item(&r, ItemType::Report, b"3"))).unwrap_err();
    read!(c.delete_item(&p("/nope"))).unwrap_err();
    read!(c.set_policies(&p("/nope"), None)).unwrap_err();
    read!(c.add_user(&NewUser {
        name: "U".into(),
        password_hash: hash.clone(),
        system_roles: vec![],
    }))
    .unwrap_err();
    read!(c.set_password_hash("ghost", &hash)).unwrap_err();
    read!(c.delete_user("ghost")).unwrap_err();

    wrote!(c.delete_user("u"));
    wrote!(c.delete_item(&d));
    let _ = last;
}

async fn second_handle_sees_changes(f: Fixture) {
    let one = &f.cat;
    let two = f.reopen().await;
    assert_eq!(
        one.generation().await.unwrap(),
        two.generation().await.unwrap()
    );

    folder(one, "/From One").await;
    assert!(two.get_item(&p("/from one")).await.unwrap().is_some());
    assert_eq!(
        one.generation().await.unwrap(),
        two.generation().await.unwrap()
    );

    let g = one.generation().await.unwrap();
    report(&two, "/From One/r", b"written by two").await;
    assert!(one.generation().await.unwrap() > g, "one sees two's write");
    assert_eq!(
        one.get_content(&p("/from one/R")).await.unwrap(),
        b"written by two"
    );
    two.add_user(&NewUser {
        name: "shared".into(),
        password_hash: password::hash("a long password").unwrap(),
        system_roles: vec![Role::SystemUser],
    })
    .await
    .unwrap();
    assert!(one.get_user("SHARED").await.unwrap().is_some());
    one.delete_item(&p("/From One")).await.unwrap();
    assert_eq!(two.item_count().await.unwrap(), 0);
}

async fn concurrent_writers_on_two_handles_all_succeed(f: Fixture) {
    let one = f.cat.clone();
    let two = f.reopen().await;
    let start = one.generation().await.unwrap();
    const EACH: usize = 15;
    let mut tasks = Vec::new();
    for (who, c) in [("one", one.clone()), ("two", two.clone())] {
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                let dir = p(&format!("/{who}-{i}"));
                c.create_folder(&dir, who).await.unwrap();
                let r = dir.join("r").unwrap();
                c.put_item(item(&r, ItemType::Report, who.as_bytes()))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(one.item_count().await.unwrap(), (4 * EACH) as i64);
    assert_eq!(
        two.generation().await.unwrap() - start,
        (4 * EACH) as i64,
        "one generation step per write"
    );
}

async fn hostile_inputs_are_refused(f: Fixture) {
    let c = &f.cat;
    for bad in [
        "/../etc",
        "/a/../../etc/passwd",
        "/./x",
        "/a//b",
        "/a\\b",
        "/a\0b",
        "/a\r\nb",
        "/a\u{1b}[2J",
        "/x\u{202E}txt.exe",
    ] {
        assert!(
            matches!(ItemPath::parse(bad), Err(Error::Invalid(_))),
            "{bad:?} must be refused"
        );
    }
    let long = "n".repeat(catalog::MAX_SEGMENT_CHARS + 1);
    let e = ItemPath::root().join(&long).unwrap_err();
    assert!(e.to_string().contains("at most 260"), "{e}");
    let deep: String = (0..200).map(|i| format!("/segment{i}")).collect();
    assert!(ItemPath::parse(&deep).is_err());

    // The longest allowed name works end to end.
    let max = ItemPath::root()
        .join(&"m".repeat(catalog::MAX_SEGMENT_CHARS))
        .unwrap();
    c.create_folder(&max, "t").await.unwrap();
    assert!(c.get_item(&max).await.unwrap().is_some());

    // Other fields.
    let r = p("/r");
    assert!(matches!(
        c.put_item(NewItem {
            mime_type: Some("text/plain\r\nX-Evil: 1"),
            ..item(&r, ItemType::Resource, b"x")
        })
        .await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        c.put_item(NewItem {
            description: "nul\0",
            ..item(&r, ItemType::Resource, b"x")
        })
        .await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        c.set_policies(
            &ItemPath::root(),
            Some(&[policy("evil:user", &[Role::Browser])])
        )
        .await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        c.set_policies(
            &ItemPath::root(),
            Some(&[policy("evil\nuser", &[Role::Browser])])
        )
        .await,
        Err(Error::Invalid(_))
    ));
    // Lookups with odd names are just misses.
    assert!(c.get_user("' OR '1'='1").await.unwrap().is_none());
    assert!(c.get_user("%").await.unwrap().is_none());
    assert_eq!(c.item_count().await.unwrap(), 1);
    assert_eq!(
        c.get_policies(&ItemPath::root()).await.unwrap(),
        Some(vec![])
    );
}

async fn reopening_with_create_keeps_the_catalog(f: Fixture) {
    let c = &f.cat;
    folder(c, "/Keep").await;
    let g = c.generation().await.unwrap();
    let again = catalog::open(&f.url, true).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert!(again.get_item(&p("/Keep")).await.unwrap().is_some());
    assert_eq!(again.item_count().await.unwrap(), 1);
    assert_eq!(
        again.generation().await.unwrap(),
        g,
        "opening writes nothing"
    );
}

// ---------------------------------------------------------------------------------------
// SQLite only

/// `open` must be spawnable: its future is `Send` (a regression guard for sqlx futures that
/// rustc cannot prove `Send` across awaits).
#[tokio::test]
async fn open_future_is_send_and_spawnable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("c.db").display());
    let c = tokio::spawn(async move { catalog::open(&url, true).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.item_count().await.unwrap(), 0);
}

#[tokio::test]
async fn sqlite_file_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.db");
    let c = catalog::open(&format!("sqlite:{}", file.display()), true)
        .await
        .unwrap();
    folder(&c, "/x").await;
    for name in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let path = dir.path().join(name);
        if name != "catalog.db" && !path.exists() {
            continue;
        }
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} has mode {mode:o}");
    }
}

#[tokio::test]
async fn sqlite_missing_file_without_create_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent.db");
    let e = catalog::open(&format!("sqlite:{}", file.display()), false)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::Uninitialized { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&file.display().to_string()), "{msg}");
    assert!(msg.contains("reportctl database create"), "{msg}");
    assert!(!file.exists(), "nothing created");
}

#[tokio::test]
async fn sqlite_empty_file_without_create_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("empty.db");
    std::fs::write(&file, b"").unwrap();
    let e = catalog::open(&format!("sqlite:{}", file.display()), false)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::Uninitialized { .. }), "{e:?}");
    assert_eq!(std::fs::read(&file).unwrap(), b"");
    // With create, the same file becomes a catalog.
    let c = catalog::open(&format!("sqlite:{}", file.display()), true)
        .await
        .unwrap();
    assert_eq!(c.schema_version().await.unwrap(), SCHEMA_VERSION);
}

#[tokio::test]
async fn sqlite_foreign_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.db");
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        (&mut conn)
            .execute(sqlx::raw_sql(
                "CREATE TABLE foo (x INTEGER); INSERT INTO foo VALUES (42);",
            ))
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let before = std::fs::read(&file).unwrap();
    let e = catalog::open(&format!("sqlite:{}", file.display()), true)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::Foreign(_)), "{e:?}");
    assert!(e.to_string().contains("foo"), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), before, "file unchanged");
    assert!(!dir.path().join("other.db-wal").exists());
}

#[tokio::test]
async fn sqlite_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.db");
    let url = format!("sqlite:{}", file.display());
    drop(catalog::open(&url, true).await.unwrap());
    {
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&file);
        let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        (&mut conn)
            .execute(sqlx::raw_sql(
                "INSERT INTO reportd_schema (version, description, applied_at) \
                 VALUES (99, 'from the future', '2100-01-01T00:00:00Z')",
            ))
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let e = catalog::open(&url, false).await.err().unwrap();
    assert!(
        matches!(
            e,
            Error::SchemaTooNew {
                found: 99,
                supported: SCHEMA_VERSION
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("upgrade reportd"), "{e}");
}

#[tokio::test]
async fn sqlite_garbage_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("garbage.db");
    let junk = b"this is not a database, just some text that is long enough to matter".repeat(100);
    std::fs::write(&file, &junk).unwrap();
    let e = catalog::open(&format!("sqlite:{}", file.display()), true)
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains(&file.display().to_string()), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), junk);
}

#[tokio::test]
async fn sqlite_missing_directory_and_bad_urls() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("no/such/dir/catalog.db");
    let e = catalog::open(&format!("sqlite:{}", file.display()), true)
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(!file.exists());
    for bad in ["sqlite:", "sqlite::memory:", "mysql://x/y", "catalog.db"] {
        assert!(
            matches!(catalog::open(bad, true).await, Err(Error::Invalid(_))),
            "{bad}"
        );
    }
    // sqlite:// spelling works too.
    let ok = dir.path().join("c.db");
    catalog::open(&format!("sqlite://{}", ok.display()), true)
        .await
        .unwrap();
    assert!(ok.exists());
}

// ---------------------------------------------------------------------------------------
// PostgreSQL only

#[tokio::test]
async fn postgres_unreachable_fails_fast_naming_host_and_port() {
    let started = Instant::now();
    let e = catalog::open("postgres://postgres@127.0.0.1:1/x", true)
        .await
        .err()
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
}

#[tokio::test]
async fn postgres_url_errors_never_show_the_password() {
    let e = catalog::open("postgres://user:s3cr3tpw@127.0.0.1:1/x", false)
        .await
        .err()
        .unwrap();
    assert!(!e.to_string().contains("s3cr3tpw"), "{e}");
    let e = catalog::open("postgres://user:s3cr3tpw@127.0.0.1:notaport/x", false)
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    assert!(!e.to_string().contains("s3cr3tpw"), "{e}");
}

#[tokio::test]
async fn postgres_foreign_database_is_refused_untouched() {
    let Some(base) = pg_base_url() else {
        println!("skipped: REPORTD_TEST_PG_URL not set");
        return;
    };
    let name = unique_db_name();
    {
        let mut admin = pg_admin(&base).await;
        (&mut admin)
            .execute(sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\"")))
            .await
            .unwrap();
    }
    let url = pg_url_with_db(&base, &name);
    let outcome = tokio::spawn({
        let url = url.clone();
        let name = name.clone();
        async move {
            let opts = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
            let mut conn = sqlx::PgConnection::connect_with(&opts).await.unwrap();
            (&mut conn)
                .execute(sqlx::raw_sql(
                    "CREATE TABLE foo (x INTEGER); INSERT INTO foo VALUES (1);",
                ))
                .await
                .unwrap();
            for create in [true, false] {
                let e = catalog::open(&url, create).await.err().unwrap();
                assert!(matches!(e, Error::Foreign(_)), "{e:?}");
                let msg = e.to_string();
                assert!(msg.contains(&name) && msg.contains("foo"), "{msg}");
            }
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            assert_eq!(tables, ["foo"], "nothing written");
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM foo")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(n, 1);
            conn.close().await.unwrap();
        }
    })
    .await;
    drop_pg_database(&base, &name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn postgres_missing_or_empty_database_without_create() {
    let Some(base) = pg_base_url() else {
        println!("skipped: REPORTD_TEST_PG_URL not set");
        return;
    };
    let name = unique_db_name();
    let url = pg_url_with_db(&base, &name);
    let e = catalog::open(&url, false).await.err().unwrap();
    assert!(matches!(e, Error::Uninitialized { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains(&name) && msg.contains("reportctl database create"),
        "{msg}"
    );
    assert!(!pg_database_exists(&base, &name).await, "not created");

    {
        let mut admin = pg_admin(&base).await;
        (&mut admin)
            .execute(sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\"")))
            .await
            .unwrap();
    }
    let outcome = tokio::spawn({
        let url = url.clone();
        async move {
            let e = catalog::open(&url, false).await.err().unwrap();
            assert!(matches!(e, Error::Uninitialized { .. }), "{e:?}");
            // An existing empty database is used by create.
            let c = catalog::open(&url, true).await.unwrap();
            assert_eq!(c.schema_version().await.unwrap(), SCHEMA_VERSION);
        }
    })
    .await;
    drop_pg_database(&base, &name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn postgres_database_name_needing_quotes_is_created() {
    let Some(base) = pg_base_url() else {
        println!("skipped: REPORTD_TEST_PG_URL not set");
        return;
    };
    let name = format!("{} \"odd\" name", unique_db_name());
    let url = pg_url_with_db(&base, &name.replace(' ', "%20").replace('"', "%22"));
    let outcome = tokio::spawn({
        let url = url.clone();
        async move {
            let c = catalog::open(&url, true).await.unwrap();
            folder(&c, "/x").await;
            assert_eq!(c.item_count().await.unwrap(), 1);
        }
    })
    .await;
    let existed = pg_database_exists(&base, &name).await;
    drop_pg_database(&base, &name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    assert!(existed, "the database was created under its exact name");
}

// ---------------------------------------------------------------------------------------
// PostgreSQL outages: a server that stops answering, a long lock, killed connections

/// A TCP forwarder on 127.0.0.1:0 to `upstream` that can be cut: `cut()` closes the
/// listener and every forwarded connection, so the port refuses connections as a stopped
/// server's would.
struct Cuttable {
    port: u16,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Cuttable {
    async fn start(upstream: std::net::SocketAddr) -> Cuttable {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => return, // drops the listener: refused from now
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        let mut stop_conn = stopped.clone();
                        tokio::spawn(async move {
                            let Ok(mut out) = tokio::net::TcpStream::connect(upstream).await else {
                                return;
                            };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                                _ = stop_conn.changed() => {}
                            }
                        });
                    }
                }
            }
        });
        Cuttable { port, stop }
    }

    fn cut(&self) {
        let _ = self.stop.send(true);
    }
}

fn pg_upstream(base: &str) -> std::net::SocketAddr {
    let opts = sqlx::postgres::PgConnectOptions::from_str(base).unwrap();
    let host = if opts.get_host() == "localhost" {
        "127.0.0.1"
    } else {
        opts.get_host()
    };
    format!("{host}:{}", opts.get_port()).parse().unwrap()
}

/// `url` pointed at 127.0.0.1:`port` instead of its host and port.
fn via_port(url: &str, port: u16) -> String {
    let scheme_end = url.find("://").unwrap() + 3;
    let rest = &url[scheme_end..];
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let userinfo = authority.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!(
        "{}{}127.0.0.1:{port}{}",
        &url[..scheme_end],
        userinfo.unwrap_or_default(),
        &rest[auth_end..]
    )
}

/// Runs `test(base, url of a fresh catalog)` and drops the database afterwards.
async fn with_pg_catalog<F, Fut>(test: F)
where
    F: FnOnce(String, String) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(base) = pg_base_url() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("REPORTD_TEST_PG_URL must be set in CI");
        }
        println!("skipped: REPORTD_TEST_PG_URL not set");
        return;
    };
    let name = unique_db_name();
    let url = pg_url_with_db(&base, &name);
    drop(catalog::open(&url, true).await.expect("create the catalog"));
    let outcome = tokio::spawn(test(base.clone(), url)).await;
    drop_pg_database(&base, &name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn server_options() -> catalog::OpenOptions {
    catalog::OpenOptions {
        create: false,
        connect_timeout: Duration::from_millis(750),
        statement_timeout: Duration::from_secs(1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_that_stops_answering_is_unavailable_within_a_second() {
    with_pg_catalog(|base, url| async move {
        let proxy = Cuttable::start(pg_upstream(&base)).await;
        let c = catalog::open_with(&via_port(&url, proxy.port), &server_options())
            .await
            .expect("open through the forwarder");
        c.item_count().await.expect("served while up");
        proxy.cut();
        // Every request fails fast and by itself, also several at once: none waits behind
        // another's reconnect attempts.
        let started = Instant::now();
        let results = futures_join_all((0..8).map(|_| {
            let c = c.clone();
            async move {
                let t = Instant::now();
                (c.list_users().await, t.elapsed())
            }
        }))
        .await;
        for (r, took) in results {
            let e = r.expect_err("the server is gone");
            assert!(matches!(e, Error::Unavailable(_)), "{e:?}");
            assert!(e.to_string().contains("reportctl database status"), "{e}");
            assert!(took < Duration::from_secs(1), "took {took:?}");
        }
        assert!(started.elapsed() < Duration::from_millis(1500));
        // Opening anew fails fast too, naming host and port.
        let t = Instant::now();
        let e = catalog::open_with(&via_port(&url, proxy.port), &server_options())
            .await
            .err()
            .unwrap();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        assert!(matches!(e, Error::Connect { .. }), "{e:?}");
        assert!(
            e.to_string().contains(&format!("127.0.0.1:{}", proxy.port)),
            "{e}"
        );
    })
    .await;
}

/// `join_all` without a futures dependency: spawn each, await in order.
async fn futures_join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_long_lock_is_bounded_by_the_statement_timeout() {
    with_pg_catalog(|_base, url| async move {
        let c = catalog::open_with(&url, &server_options()).await.unwrap();
        // Another session holds the row every write locks first.
        let opts = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
        let mut other = sqlx::PgConnection::connect_with(&opts).await.unwrap();
        (&mut other)
            .execute(sqlx::raw_sql(
                "BEGIN; UPDATE generation SET value = value + 1 WHERE id = 1;",
            ))
            .await
            .unwrap();
        let t = Instant::now();
        let e = c.create_folder(&p("/Blocked"), "t").await.unwrap_err();
        let took = t.elapsed();
        assert!(matches!(e, Error::Unavailable(_)), "{e:?}");
        assert!(e.to_string().contains("lock"), "{e}");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "{took:?}"
        );
        // Reads do not wait for the writer.
        c.list_children(&ItemPath::root()).await.unwrap();
        (&mut other)
            .execute(sqlx::raw_sql("ROLLBACK"))
            .await
            .unwrap();
        c.create_folder(&p("/Blocked"), "t").await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_terminated_connections_are_replaced() {
    with_pg_catalog(|base, url| async move {
        let c = catalog::open_with(&url, &server_options()).await.unwrap();
        c.item_count().await.unwrap();
        let db = url.rsplit('/').next().unwrap().to_owned();
        let mut admin = pg_admin(&base).await;
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&db)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        assert!(!killed.is_empty(), "the pool had a connection to kill");
        // The pool notices the dead connection and makes a new one.
        let t = Instant::now();
        c.item_count().await.expect("served after the connections were killed");
        assert!(t.elapsed() < Duration::from_secs(1));
    })
    .await;
}

async fn items_are_found_by_their_stable_id(f: Fixture) {
    let c = &f.cat;
    let dir = folder(c, "/ById").await;
    let r = report(c, "/ById/R", b"<Report/>").await;
    assert_eq!(
        c.get_item_by_id(dir.id).await.unwrap().unwrap().path,
        p("/ById")
    );
    let found = c.get_item_by_id(r.id).await.unwrap().unwrap();
    assert_eq!(found, r);
    // Replacing the content keeps the id.
    let path = p("/ById/R");
    let mut again = item(&path, ItemType::Report, b"<Report>2</Report>");
    again.overwrite = true;
    let replaced = c.put_item(again).await.unwrap();
    assert_eq!(replaced.id, r.id);
    assert_eq!(c.get_item_by_id(r.id).await.unwrap().unwrap().size, 18);
    let root = c.get_item(&ItemPath::root()).await.unwrap().unwrap();
    assert!(
        c.get_item_by_id(root.id)
            .await
            .unwrap()
            .unwrap()
            .path
            .is_root()
    );
    c.delete_item(&p("/ById")).await.unwrap();
    assert!(c.get_item_by_id(r.id).await.unwrap().is_none());
    assert!(c.get_item_by_id(uuid::Uuid::nil()).await.unwrap().is_none());
}

async fn items_move_with_everything_below_them(f: Fixture) {
    let c = &f.cat;
    let a = folder(c, "/A").await;
    folder(c, "/A/Sub").await;
    let r = report(c, "/A/Sub/R", b"<Report/>").await;
    folder(c, "/B").await;
    c.set_policies(&p("/A/Sub"), Some(&[policy("u", &[Role::Browser])]))
        .await
        .unwrap();
    let gen0 = c.generation().await.unwrap();
    let moved = c.move_item(&p("/a"), &p("/b/Moved")).await.unwrap();
    assert!(c.generation().await.unwrap() > gen0);
    assert_eq!(
        (moved.id, moved.path.as_str(), moved.name.as_str()),
        (a.id, "/B/Moved", "Moved")
    );
    assert!(c.get_item(&p("/A")).await.unwrap().is_none());
    let r2 = c.get_item(&p("/B/Moved/Sub/R")).await.unwrap().unwrap();
    assert_eq!(
        (r2.id, r2.size, r2.created_at),
        (r.id, r.size, r.created_at)
    );
    assert_eq!(
        c.get_content(&p("/B/Moved/Sub/R")).await.unwrap(),
        b"<Report/>"
    );
    assert_eq!(names(&c.list_children(&p("/B")).await.unwrap()), ["Moved"]);
    assert_eq!(
        c.effective_roles(&p("/B/Moved/Sub/R"), "u").await.unwrap(),
        [Role::Browser]
    );
    // A change of case only; a report renamed in place.
    let m = c.move_item(&p("/B/Moved"), &p("/B/MOVED")).await.unwrap();
    assert_eq!(m.path.as_str(), "/B/MOVED");
    assert_eq!(
        c.get_item(&p("/b/moved/sub/r"))
            .await
            .unwrap()
            .unwrap()
            .path
            .as_str(),
        "/B/MOVED/Sub/R"
    );
    c.move_item(&p("/B/MOVED/Sub/R"), &p("/B/MOVED/Sub/R2"))
        .await
        .unwrap();
    // Refused: below itself, onto an item, into a missing or non-folder parent, the root.
    let before = c.generation().await.unwrap();
    assert!(matches!(
        c.move_item(&p("/B"), &p("/B/MOVED/X")).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        c.move_item(&p("/B/MOVED/Sub"), &p("/B/MOVED")).await,
        Err(Error::AlreadyExists(_))
    ));
    assert!(matches!(
        c.move_item(&p("/B/MOVED"), &p("/Nope/X")).await,
        Err(Error::ParentMissing(_))
    ));
    assert!(matches!(
        c.move_item(&p("/B/MOVED"), &p("/B/MOVED/Sub/R2/X")).await,
        Err(Error::Invalid(_) | Error::ParentMissing(_))
    ));
    assert!(matches!(
        c.move_item(&p("/Nope"), &p("/X")).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        c.move_item(&ItemPath::root(), &p("/X")).await,
        Err(Error::Root)
    ));
    assert_eq!(
        c.generation().await.unwrap(),
        before,
        "refusals change nothing"
    );
    assert!(c.get_item(&p("/B/MOVED/Sub/R2")).await.unwrap().is_some());
}
