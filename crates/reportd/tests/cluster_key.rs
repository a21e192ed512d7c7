//! The cluster key with the real binaries on one PostgreSQL database: three nodes share one
//! key (sealed per node, never in clear in the database), a join hands it over live, a
//! shared data source's credentials open on every node, a portal form served by one node
//! is accepted by another and a session cookie from node 1 works on node 3; backup,
//! rotation and restore act on the whole cluster with the credentials still opening
//! everywhere; a wrong key-file password changes nothing; a node whose copy of the key does
//! not open is refused at start.
//!
//! Needs PostgreSQL (`REPORTD_TEST_PG_URL`); prints `skipped:` without it, fails under
//! `CI=true`. Each test works in a fresh database it drops at the end.

mod common;
#[path = "common/pgcluster.rs"]
mod pgcluster;

use std::time::{Duration, Instant};

use common::curl;
use datadir::sealed::ClusterKey;
use pgcluster::{
    ADMIN, FreshDb, Node, join, node_entry, nodes_of, pg_base, refused_start, start_node,
};

/// A shared data source whose connect string names no user: only its stored (sealed)
/// credentials let it connect.
fn rds(db: &FreshDb) -> String {
    let mut u = url::Url::parse(&db.url_via(None)).unwrap();
    let user = u.username().to_owned();
    let _ = u.set_username("");
    let user = if user.is_empty() { "postgres" } else { &user };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<DataSourceDefinition xmlns="http://schemas.microsoft.com/sqlserver/reporting/2006/03/reportdatasource">
  <Extension>POSTGRESQL</Extension>
  <ConnectString>{}</ConnectString>
  <CredentialRetrieval>Store</CredentialRetrieval>
  <UserName>{user}</UserName>
  <Password>not-in-the-catalog-pw</Password>
  <WindowsCredentials>False</WindowsCredentials>
  <Enabled>True</Enabled>
</DataSourceDefinition>
"#,
        u.as_str().replace('&', "&amp;")
    )
}

/// Model.CheckConnection of the shared data source on `node`: (successful, message).
fn check_connection(node: &Node) -> (bool, String) {
    let r = curl(
        &format!(
            "{}/Reports/api/v2.0/DataSources(Path='/Warehouse')/Model.CheckConnection",
            node.base()
        ),
        Some(ADMIN),
        &["-X", "POST", "-H", "Content-Length: 0"],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    (
        v["IsSuccessful"] == true,
        v["ErrorMessage"].as_str().unwrap_or("").to_owned(),
    )
}

/// Waits until the stored credentials open (and connect) on every node; how long it took.
fn credentials_open_everywhere(nodes: &[&Node], what: &str) -> Duration {
    let t = Instant::now();
    for n in nodes {
        loop {
            let (ok, msg) = check_connection(n);
            if ok {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "{what}: the credentials do not open on the node at port {}: {msg}",
                n.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    t.elapsed()
}

/// The CSRF token of the folder page `node` serves to the administrator.
fn csrf_token(node: &Node) -> String {
    let r = curl(
        &format!("{}/Reports/browse/", node.base()),
        Some(ADMIN),
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let at = r
        .body
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    r.body[at..at + 64].to_owned()
}

/// POSTs the "New folder" form to `node` with `token`: the status.
fn new_folder(node: &Node, token: &str, name: &str) -> u16 {
    curl(
        &format!("{}/Reports/folder", node.base()),
        Some(ADMIN),
        &[
            "-X",
            "POST",
            "-H",
            &format!("Origin: {}", node.base()),
            "--data-urlencode",
            &format!("csrf={token}"),
            "--data-urlencode",
            "parent=/",
            "--data-urlencode",
            &format!("name={name}"),
        ],
    )
    .status
}

/// A form served by `from` is accepted by `to` (polls while `to` may still be picking up
/// a new key); a forged token is refused.
fn forms_cross_nodes(from: &Node, to: &Node, name: &str) {
    let t = Instant::now();
    loop {
        let token = csrf_token(from);
        let status = new_folder(to, &token, name);
        if status == 302 || status == 303 {
            break;
        }
        assert_eq!(status, 403, "{name}");
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "a form served by port {} is refused by port {}",
            from.port,
            to.port
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(new_folder(to, &"0".repeat(64), "Forged"), 403);
}

const CERT_TP: &str = "00112233445566778899AABBCCDDEEFF00112233";
const CERT_AAD: &[u8] = b"cluster_certs/00112233445566778899AABBCCDDEEFF00112233";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The Cluster-store row's key version and its private key opened with `k`.
fn cert_key(db: &FreshDb, k: &ClusterKey) -> (i64, Vec<u8>) {
    let row = db.psql(&format!(
        "SELECT key_version || ' ' || encode(sealed_key, 'hex') FROM cluster_certs WHERE thumbprint = '{CERT_TP}'"
    ));
    let (v, h) = row.split_once(' ').unwrap();
    let bytes: Vec<u8> = (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect();
    let plain = k
        .open(CERT_AAD, &bytes)
        .expect("the row opens with the cluster key");
    (v.parse().unwrap(), plain.to_vec())
}

fn key_versions(node: &Node) -> Vec<i64> {
    nodes_of(node)
        .iter()
        .map(|n| n["KeyVersion"].as_i64().unwrap())
        .collect()
}

#[test]
fn three_nodes_share_one_key_through_join_rotation_backup_and_restore() {
    let Some(base) = pg_base() else { return };
    let db = FreshDb::new(&base);
    let url = db.url_via(None);
    let n1 = start_node(&url, true);
    let n2 = start_node(&url, false);
    let mut n3 = start_node(&url, false);

    // The first node created the key (version 1) and holds the only copy.
    let nodes = nodes_of(&n1);
    assert_eq!(node_entry(&nodes, n1.port)["KeyVersion"], 1, "{nodes:?}");
    for n in [&n2, &n3] {
        let e = node_entry(&nodes, n.port);
        assert_eq!(
            (e["State"].as_str(), e["KeyVersion"].as_i64()),
            (Some("waiting"), Some(0))
        );
    }
    assert_eq!(db.psql("SELECT count(*) FROM cluster_keys"), "1");
    assert_eq!(
        db.psql("SELECT count(*) FROM cluster_nodes WHERE public_key IS NOT NULL"),
        "3"
    );

    // Join hands the key to the waiting nodes: they serve without a restart.
    let joined = Instant::now();
    join(&n1, &[&n2, &n3]);
    eprintln!(
        "join: both nodes serve {:.1} s after the join (heartbeat every 3 s)",
        joined.elapsed().as_secs_f64()
    );
    assert_eq!(key_versions(&n2), vec![1, 1, 1]);
    let (id2, id3) = (n2.id(), n3.id());
    // Each copy is sealed for its node: three different blobs, none holding the key.
    let pw = n1.inst.file("backup.pw", b"backup password 1\n");
    let backup = n1.inst.tmp.path().join("cluster.snk");
    let out = n1.inst.ok(&[
        "keys",
        "backup",
        "--file",
        backup.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(out.contains("Cluster key (check value"), "{out}");
    let key =
        datadir::keyfile::open(&std::fs::read(&backup).unwrap(), "backup password 1").unwrap();
    let check1 = datadir::keyfile::check_value(&key[..]);
    assert_eq!(
        db.psql("SELECT check_value FROM cluster_keys WHERE is_current"),
        check1
    );
    let copies = db.psql("SELECT encode(sealed_key, 'hex') FROM cluster_nodes ORDER BY 1");
    let copies: Vec<&str> = copies.lines().collect();
    assert_eq!(copies.len(), 3);
    assert!(
        copies[0] != copies[1] && copies[1] != copies[2],
        "{copies:?}"
    );
    let key_hex = hex(&key[..]);
    assert!(
        !copies.iter().any(|c| c.contains(&key_hex)),
        "the key is in clear"
    );
    // The node rows also say what each node applied and serves.
    let e1 = node_entry(&nodes_of(&n1), n1.port);
    assert!(e1["BindingVersion"].as_i64().is_some(), "{e1}");
    assert!(
        e1["Serving"]
            .as_str()
            .unwrap()
            .contains(&format!("{}/http", n1.port)),
        "{e1}"
    );

    // A shared data source uploaded through node 2: its credentials, sealed with the
    // cluster key, open on every node.
    let file = n2.inst.file("Warehouse.rds", rds(&db).as_bytes());
    n2.inst
        .ok(&["catalog", "upload", file.to_str().unwrap(), "/"]);
    let stored = db.psql(
        "SELECT encode(c.content, 'escape') FROM item_content c JOIN items i ON i.id = c.item_id WHERE i.path = '/Warehouse'",
    );
    assert!(stored.contains("<SealedCredentials>") && !stored.contains("not-in-the-catalog-pw"));
    credentials_open_everywhere(&[&n1, &n2, &n3], "after the upload");
    // A Cluster-store private key sealed with the cluster key, bound to its row (as
    // certstore::cluster seals them): rotation and restore must move it too.
    let ck1 = ClusterKey::new(key.clone(), 1);
    let sealed_pk = ck1.seal(CERT_AAD, b"a private key").unwrap();
    db.psql(&format!(
        "INSERT INTO cluster_certs (thumbprint, names, not_before, not_after, chain_pem, sealed_key, key_version, created_at) \
         VALUES ('{CERT_TP}', 'none.invalid', now(), now(), 'not used', decode('{}', 'hex'), 1, now())",
        hex(&sealed_pk)
    ));

    // A form served by node 1 is accepted by node 2 (the CSRF key derives from the
    // cluster key), and one served by node 3 by node 1.
    forms_cross_nodes(&n1, &n2, "FormFromNode1");
    forms_cross_nodes(&n3, &n1, "FormFromNode3");

    // A session cookie from node 1 works on node 3.
    let r = curl(
        &format!("{}/Reports/api/v2.0/Session", n1.base()),
        None,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            r#"{"UserName":"admin","Password":"cluster admin pw"}"#,
        ],
    );
    assert_eq!(r.status, 201, "{r:?}");
    let cookie = r
        .headers
        .lines()
        .find_map(|l| {
            l.strip_prefix("Set-Cookie: ")
                .or_else(|| l.strip_prefix("set-cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let me = curl(
        &format!("{}/Reports/api/v2.0/Me", n3.base()),
        None,
        &["-H", &format!("Cookie: {cookie}")],
    );
    assert_eq!(me.status, 200, "{me:?}");
    assert!(me.body.contains("\"admin\""), "{}", me.body);
    let forged = curl(
        &format!("{}/Reports/api/v2.0/Me", n3.base()),
        None,
        &["-H", &format!("Cookie: {}x", &cookie[..cookie.len() - 1])],
    );
    assert_eq!(forged.status, 401, "{forged:?}");

    // Rotation on node 3: one transaction re-seals the credentials and every node's copy;
    // every node picks version 2 up by itself.
    let out = n3.inst.ok(&["keys", "rotate"]);
    assert!(
        out.contains("New cluster key") && out.contains("1 data source"),
        "{out}"
    );
    assert_eq!(key_versions(&n1), vec![2, 2, 2]);
    let check2 = db.psql("SELECT check_value FROM cluster_keys WHERE is_current");
    assert_ne!(check2, check1);
    let took = credentials_open_everywhere(&[&n1, &n2, &n3], "after the rotation");
    eprintln!(
        "rotation: the credentials open on all 3 nodes {:.1} s after it",
        took.as_secs_f64()
    );
    forms_cross_nodes(&n2, &n3, "AfterRotation");
    let backup2 = n1.inst.tmp.path().join("cluster2.snk");
    n1.inst.ok(&[
        "keys",
        "backup",
        "--file",
        backup2.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    let key2 =
        datadir::keyfile::open(&std::fs::read(&backup2).unwrap(), "backup password 1").unwrap();
    assert_eq!(datadir::keyfile::check_value(&key2[..]), check2);
    assert_eq!(
        cert_key(&db, &ClusterKey::new(key2, 2)),
        (2, b"a private key".to_vec())
    );

    // A wrong password changes nothing, with a clear error in the output and the log.
    let wrong = n2.inst.file("wrong.pw", b"not the password\n");
    let o = n2.inst.ctl(&[
        "keys",
        "restore",
        "--file",
        backup.to_str().unwrap(),
        "--password-file",
        wrong.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the password is wrong"), "{err}");
    assert_eq!(
        db.psql("SELECT check_value FROM cluster_keys WHERE is_current"),
        check2
    );
    assert_eq!(key_versions(&n1), vec![2, 2, 2]);

    // Restore the backup on node 2: the backed-up key is the cluster's again (a new
    // version), everything moved to it, the credentials still open everywhere.
    let out = n2.inst.ok(&[
        "keys",
        "restore",
        "--file",
        backup.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(
        out.contains(&format!("Cluster key restored (check value {check1})")),
        "{out}"
    );
    assert_eq!(key_versions(&n1), vec![3, 3, 3]);
    assert_eq!(
        db.psql("SELECT check_value FROM cluster_keys WHERE is_current"),
        check1
    );
    credentials_open_everywhere(&[&n1, &n2, &n3], "after the restore");
    assert_eq!(cert_key(&db, &ck1), (3, b"a private key".to_vec()));

    // Node 3 removed, then joined again with the backup and a wrong password: refused,
    // still removed; with the right one: joined.
    n1.inst.ok(&["cluster", "remove", &id3]);
    let o = n3.inst.ctl(&[
        "cluster",
        "join",
        "--key-file",
        backup.to_str().unwrap(),
        "--password-file",
        wrong.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("the password is wrong"));
    assert_eq!(node_entry(&nodes_of(&n1), n3.port)["State"], "removed");
    n3.inst.ok(&[
        "cluster",
        "join",
        "--key-file",
        backup.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert_eq!(node_entry(&nodes_of(&n1), n3.port)["State"], "joined");
    credentials_open_everywhere(&[&n3], "after joining with the backup");

    // A node whose copy does not open (sealed for another node's key) is refused at start.
    // Node 3's server logged the refused join (the audit line of the operation).
    let log3 = n3.log();
    let _ = n3.child.wait();
    assert!(
        log3.contains("cluster join with a key backup refused: the key backup cannot be opened: the password is wrong"),
        "{log3}"
    );
    db.psql(&format!(
        "UPDATE cluster_nodes SET sealed_key = (SELECT sealed_key FROM cluster_nodes WHERE installation_id = '{id2}') WHERE installation_id = '{id3}'"
    ));
    let err = refused_start(&n3.inst, "the node");
    assert!(
        err.contains("does not open with this data dir's instance key"),
        "{err}"
    );
    // The others are untouched.
    credentials_open_everywhere(&[&n1, &n2], "after the refused start");
}

/// `reportctl wmi METHOD ARGS --json` on `node`: the reply (any HRESULT).
fn wmi(node: &Node, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["wmi"];
    a.extend_from_slice(args);
    a.push("--json");
    let o = node.inst.ctl(&a);
    let out = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(&out).unwrap_or_else(|e| {
        panic!(
            "{args:?}: {e}: {out} {}",
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn wmi_methods_and_the_scale_out_page_join_and_remove_nodes() {
    let Some(base) = pg_base() else { return };
    let db = FreshDb::new(&base);
    let url = db.url_via(None);
    let n1 = start_node(&url, true);
    let n2 = start_node(&url, false);
    let (id1, id2) = (n1.id(), n2.id());

    // ListReportServersInDatabase: parallel arrays, node 2 not initialized yet.
    let l = wmi(&n1, &["ListReportServersInDatabase"]);
    assert_eq!(l["HRESULT"], 0, "{l}");
    assert_eq!(l["Length"], 2, "{l}");
    let ids: Vec<&str> = l["InstallationIDs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let at = |id: &str| ids.iter().position(|i| *i == id).unwrap();
    assert_eq!(l["IsInitialized"][at(&id1)], true, "{l}");
    assert_eq!(l["IsInitialized"][at(&id2)], false, "{l}");
    assert_eq!(l["MachineNames"].as_array().unwrap().len(), 2);
    assert_eq!(l["InstanceNames"][at(&id1)], "data", "{l}");

    // A waiting node cannot initialize itself (its own InstallationID property names it).
    let own: serde_json::Value =
        serde_json::from_str(&n2.inst.ok(&["wmi", "properties", "--json"])).unwrap();
    let own_id = own["InstallationID"].as_str().unwrap().to_owned();
    let r = wmi(
        &n2,
        &[
            "InitializeReportServer",
            &format!("InstallationID={own_id}"),
        ],
    );
    assert_ne!(r["HRESULT"], 0, "{r}");
    assert!(
        r["ExtendedErrors"][0]
            .as_str()
            .unwrap()
            .contains("is waiting"),
        "{r}"
    );
    // An unknown installation is an invalid argument.
    let r = wmi(
        &n1,
        &[
            "InitializeReportServer",
            "InstallationID=00000000-0000-4000-8000-000000000000",
        ],
    );
    assert_eq!(r["HRESULT"], 0x8007_0057_u32 as i32, "{r}");
    // InitializeReportServer on node 1 joins node 2, which then serves.
    let r = wmi(
        &n1,
        &["InitializeReportServer", &format!("InstallationID={id2}")],
    );
    assert_eq!(r["HRESULT"], 0, "{r}");
    pgcluster::wait_serving(&n2);
    let l = wmi(&n2, &["ListReportServersInDatabase"]);
    assert_eq!(l["IsInitialized"], serde_json::json!([true, true]), "{l}");
    // DeleteEncryptionKey removes it; the last joined node is kept.
    let r = wmi(
        &n1,
        &["DeleteEncryptionKey", &format!("InstallationID={id2}")],
    );
    assert_eq!(r["HRESULT"], 0, "{r}");
    assert_eq!(node_entry(&nodes_of(&n1), n2.port)["State"], "removed");
    let r = wmi(
        &n1,
        &["DeleteEncryptionKey", &format!("InstallationID={id1}")],
    );
    assert_ne!(r["HRESULT"], 0, "{r}");
    assert!(
        r["ExtendedErrors"][0]
            .as_str()
            .unwrap()
            .contains("last joined node"),
        "{r}"
    );

    // The Scale-out page lists both nodes; its Add button (a CSRF-checked form) joins
    // node 2 again through the same operation.
    let page = curl(
        &format!("{}/Reports/manage/scaleout", n1.base()),
        Some(ADMIN),
        &[],
    );
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body.contains(&id1) && page.body.contains(&id2),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("(this node)") && page.body.contains(">removed<"),
        "{}",
        page.body
    );
    let token = csrf_token(&n1);
    let post = |token: &str| {
        curl(
            &format!("{}/Reports/manage/scaleout/join", n1.base()),
            Some(ADMIN),
            &[
                "-X",
                "POST",
                "-H",
                &format!("Origin: {}", n1.base()),
                "--data-urlencode",
                &format!("csrf={token}"),
                "--data-urlencode",
                &format!("id={id2}"),
            ],
        )
    };
    assert_eq!(
        post(&"0".repeat(64)).status,
        403,
        "a forged token is refused"
    );
    assert_eq!(node_entry(&nodes_of(&n1), n2.port)["State"], "removed");
    let r = post(&token);
    assert!(r.status == 302 || r.status == 303, "{r:?}");
    assert!(r.headers.contains("done="), "{}", r.headers);
    let keys = curl(
        &format!("{}/Reports/manage/keys", n1.base()),
        Some(ADMIN),
        &[],
    );
    assert!(
        keys.body.contains("Cluster key check value"),
        "{}",
        keys.body
    );
    assert_eq!(node_entry(&nodes_of(&n1), n2.port)["State"], "joined");
    pgcluster::wait_serving(&n2);
}
