//! `reportctl cert watch`: the server follows a certbot-style `live/NAME/*.pem` pair. A
//! renewal done as certbot does it (new files in `archive/`, then each link in `live/`
//! unlinked and re-created, the certificate before the key) is picked up; while the links
//! disagree the old certificate is served and `status` names the mismatch.

mod certsource;
mod common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use certsource::*;

/// certbot's `_update_link_to`: unlink, then symlink (a moment with no link at all).
fn relink(link: &Path, target: &str) {
    std::fs::remove_file(link).unwrap();
    symlink(target, link).unwrap();
}

#[test]
fn certbot_style_renewal_is_picked_up_and_the_old_certificate_served_until_the_pair_matches() {
    if !have(
        "openssl",
        "the test makes certificates and connects with it",
    ) {
        return;
    }
    let mut r = started();
    let inst = &r.inst;
    let https = r.https();
    let le = r.path("letsencrypt");
    let archive = le.join("archive/reports");
    let live = le.join("live/reports");
    std::fs::create_dir_all(&archive).unwrap();
    std::fs::create_dir_all(&live).unwrap();
    let (c1, k1, t1) = openssl_pair(&archive, "one", "localhost");
    std::fs::rename(&c1, archive.join("fullchain1.pem")).unwrap();
    std::fs::rename(&k1, archive.join("privkey1.pem")).unwrap();
    symlink(
        "../../archive/reports/fullchain1.pem",
        live.join("fullchain.pem"),
    )
    .unwrap();
    symlink(
        "../../archive/reports/privkey1.pem",
        live.join("privkey.pem"),
    )
    .unwrap();

    // A mismatched pair is refused at once, nothing registered.
    let (_, other_key, _) = openssl_pair(r.inst.tmp.path(), "other", "localhost");
    let err = inst.fails(&[
        "cert",
        "watch",
        "--cert",
        live.join("fullchain.pem").to_str().unwrap(),
        "--key",
        other_key.to_str().unwrap(),
    ]);
    assert!(err.contains("does not match"), "{err}");

    let out = inst.ok(&[
        "cert",
        "watch",
        "--cert",
        live.join("fullchain.pem").to_str().unwrap(),
        "--key",
        live.join("privkey.pem").to_str().unwrap(),
        "--bind",
        "webservice",
        "--ipport",
        &format!("0.0.0.0:{https}"),
    ]);
    assert_eq!(thumbprint_in(&out), t1);
    assert_eq!(served(https, "localhost").as_deref(), Some(t1.as_str()));

    // The renewal: new archive files, then the certificate link, then (later) the key link.
    let (c2, k2, t2) = openssl_pair(&archive, "two", "localhost");
    std::fs::rename(&c2, archive.join("fullchain2.pem")).unwrap();
    std::fs::rename(&k2, archive.join("privkey2.pem")).unwrap();
    relink(
        &live.join("fullchain.pem"),
        "../../archive/reports/fullchain2.pem",
    );
    // For 3 s the pair does not match: the old certificate keeps being served...
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(served(https, "localhost").as_deref(), Some(t1.as_str()));
    }
    // ... and status says why.
    let w = r.warnings();
    assert!(
        w.iter()
            .any(|w| w.contains("watch-1") && w.contains("does not match") && w.contains(&t1)),
        "{w:?}"
    );
    assert!(
        r.log().contains("does not match"),
        "the log names the mismatch"
    );
    // So does the portal's admin banner, as a warning.
    let banner = r.banner();
    assert!(
        banner.contains("notice warning")
            && banner.contains("watch-1")
            && banner.contains("does not match"),
        "{banner}"
    );
    relink(
        &live.join("privkey.pem"),
        "../../archive/reports/privkey2.pem",
    );
    let t = std::time::Instant::now();
    eventually(10, "the renewed certificate is served", || {
        served(https, "localhost").as_deref() == Some(t2.as_str())
    });
    println!(
        "renewed pair served {} ms after the key link was swapped",
        t.elapsed().as_millis()
    );
    // The warning is gone; the source records the new certificate; the log says so.
    eventually(5, "the warning clears", || {
        !r.warnings().iter().any(|w| w.contains("watch-1"))
    });
    assert!(!r.banner().contains("watch-1"), "{}", r.banner());
    let sources = inst.ok(&["cert", "sources"]);
    assert!(
        sources.contains("watch-1") && sources.contains(&t2),
        "{sources}"
    );
    assert!(
        r.log()
            .contains("certificate source installed a new certificate")
    );
    let list = inst.ok(&["ssl", "list", "--json"]);
    assert!(list.contains(&t2) && !list.contains(&t1), "{list}");

    // Files renewed while the server is down are picked up when it starts: the source is
    // registered in the data dir, not in a reportctl process.
    let pid = r.child.id();
    let _ = r.child.kill();
    let _ = r.child.wait();
    let (c3, k3, t3) = openssl_pair(&archive, "three", "localhost");
    std::fs::rename(&c3, archive.join("fullchain3.pem")).unwrap();
    std::fs::rename(&k3, archive.join("privkey3.pem")).unwrap();
    relink(
        &live.join("fullchain.pem"),
        "../../archive/reports/fullchain3.pem",
    );
    relink(
        &live.join("privkey.pem"),
        "../../archive/reports/privkey3.pem",
    );
    r.restart();
    assert_ne!(pid, r.child.id());
    eventually(10, "the pair renewed while stopped is served", || {
        served(https, "localhost").as_deref() == Some(t3.as_str())
    });
    let inst = &r.inst;

    // Removing the source keeps the certificate and binding; later changes are not followed.
    inst.ok(&["cert", "sources", "--remove", "watch-1"]);
    assert_eq!(served(https, "localhost").as_deref(), Some(t3.as_str()));
}
