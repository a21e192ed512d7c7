//! The store's own guarantees, on real files: layout and modes, no-op re-imports, keys
//! added later, crash leftovers, concurrent writers, PFX round trips, requests answered by
//! an openssl CA (PEM and PKCS#7), and the trust directory with the real
//! `update-ca-certificates` pointed at temp dirs.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use certstore::{
    CertStore, Error, KeyType, RequestOptions, SelfSignedOptions, StoreName, Thumbprint,
    TrustTarget,
};

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn new_store() -> (tempfile::TempDir, CertStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = CertStore::open(&dir.path().join("certs")).unwrap();
    (dir, store)
}

#[test]
fn self_signed_layout_modes_and_description() {
    let (dir, store) = new_store();
    let mut opts = SelfSignedOptions::new(vec![
        "reports.test".into(),
        "127.0.0.1".into(),
        "::1".into(),
    ]);
    opts.friendly_name = Some("Reports (test)".into());
    opts.days = 30;
    let t = store.new_self_signed(&opts).unwrap();

    let certs = dir.path().join("certs");
    for d in ["", "My", "Root", "REQUEST"] {
        assert_eq!(mode(&certs.join(d)), 0o700, "{d}");
    }
    let key = certs.join(format!("My/{t}.key"));
    assert_eq!(mode(&key), 0o600);
    assert!(
        fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert_eq!(mode(&certs.join(format!("My/{t}.pem"))), 0o600);

    let info = store.get(StoreName::My, &t).unwrap();
    assert_eq!(info.thumbprint, t);
    assert_eq!(info.subject, "CN=reports.test");
    assert_eq!(info.sans_text(), "DNS:reports.test, IP:127.0.0.1, IP:::1");
    assert_eq!(info.key_type, "ECDSA P-256");
    assert!(info.has_private_key && info.server_auth && !info.is_ca && info.self_signed);
    assert_eq!(info.friendly_name.as_deref(), Some("Reports (test)"));
    let days = (info.not_after - info.not_before).whole_days();
    assert!((30..=31).contains(&days), "{days}");
    // 30 days of validity is within the 30-day warning window.
    assert!(
        info.warnings
            .iter()
            .any(|w| w.contains("expires within 30 days")),
        "{:?}",
        info.warnings
    );
    assert!(info.covers_host("reports.test") && info.covers_host("::1"));

    assert_eq!(store.list(StoreName::My).unwrap().len(), 1);
    assert!(store.list(StoreName::Root).unwrap().is_empty());
    assert_eq!(store.find(&t).unwrap().0, StoreName::My);
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["thumbprint"], t.to_string());
    assert_eq!(json["sans"][1], "IP:127.0.0.1");
    assert!(json["not_after"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn rejects_bad_options() {
    let (_dir, store) = new_store();
    let mut opts = SelfSignedOptions::new(vec![]);
    assert!(matches!(
        store.new_self_signed(&opts),
        Err(Error::InvalidOption(_))
    ));
    opts.dns_names = vec!["bad name".into()];
    assert!(
        store
            .new_self_signed(&opts)
            .unwrap_err()
            .to_string()
            .contains("--dns-name")
    );
    opts.dns_names = vec!["ok.test".into()];
    opts.days = 0;
    assert!(
        store
            .new_self_signed(&opts)
            .unwrap_err()
            .to_string()
            .contains("--days")
    );
    assert!(store.list(StoreName::My).unwrap().is_empty());
}

#[test]
fn reimport_is_a_noop_and_a_later_key_is_added() {
    let (_d1, a) = new_store();
    let (_d2, b) = new_store();
    let t = a
        .new_self_signed(&SelfSignedOptions::new(vec!["x.test".into()]))
        .unwrap();
    let cert = a.export_pem(&t).unwrap();
    let pfx = a.export_pfx(&t, "pw", false).unwrap();

    let first = b.import_pem(cert.as_bytes(), None, StoreName::My).unwrap();
    assert!(!first.already_present && !first.has_private_key);
    let pem_path = b.dir().join(format!("My/{t}.pem"));
    let before = fs::metadata(&pem_path).unwrap().modified().unwrap();
    let again = b.import_pem(cert.as_bytes(), None, StoreName::My).unwrap();
    assert!(again.already_present && !again.key_added);
    assert_eq!(fs::metadata(&pem_path).unwrap().modified().unwrap(), before);

    let with_key = b.import_pfx(&pfx, "pw", StoreName::My).unwrap();
    assert!(with_key.already_present && with_key.key_added && with_key.has_private_key);
    assert!(b.certified_key(&t).is_ok());
    // The same certificate may sit in Root too: a different store.
    let root = b
        .import_pem(cert.as_bytes(), None, StoreName::Root)
        .unwrap();
    assert!(!root.already_present);
    assert!(matches!(b.locate(&t, None), Err(Error::Ambiguous(_))));
    b.remove(&t, StoreName::Root).unwrap();
    assert_eq!(b.locate(&t, None).unwrap(), StoreName::My);
}

#[test]
fn pfx_round_trips_keep_key_chain_and_friendly_name() {
    let (_d1, a) = new_store();
    let mut opts = SelfSignedOptions::new(vec!["pfx.test".into()]);
    opts.friendly_name = Some("Portal cert".into());
    opts.key_type = KeyType::Rsa2048;
    let t = a.new_self_signed(&opts).unwrap();
    for legacy in [false, true] {
        let (_d2, b) = new_store();
        let pfx = a.export_pfx(&t, "s3cret", legacy).unwrap();
        let out = b.import_pfx(&pfx, "s3cret", StoreName::My).unwrap();
        assert_eq!(out.thumbprint, t);
        let info = b.get(StoreName::My, &t).unwrap();
        assert!(info.has_private_key);
        assert_eq!(info.key_type, "RSA 2048");
        assert_eq!(
            info.friendly_name.as_deref(),
            Some("Portal cert"),
            "legacy={legacy}"
        );
        assert!(matches!(
            b.import_pfx(&pfx, "wrong", StoreName::Root),
            Err(Error::WrongPassword)
        ));
        assert!(b.list(StoreName::Root).unwrap().is_empty());
    }
    let e = a
        .export_pfx(&"00".repeat(20).parse().unwrap(), "x", false)
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}

#[test]
fn crash_leftovers_are_invisible_and_swept() {
    let (_dir, store) = new_store();
    let my = store.dir().join("My");
    let ghost = "AB".repeat(20);
    // As if a process died after writing the key of an import, and during an atomic write.
    fs::write(
        my.join(format!("{ghost}.key")),
        "-----BEGIN PRIVATE KEY-----\n",
    )
    .unwrap();
    fs::write(my.join(format!("{ghost}.json")), "{}").unwrap();
    fs::write(my.join(format!(".{ghost}.pem.tmp.99999")), "half").unwrap();
    assert!(store.list(StoreName::My).unwrap().is_empty());
    let ghost_t: Thumbprint = ghost.parse().unwrap();
    assert!(!store.contains(StoreName::My, &ghost_t));

    store
        .new_self_signed(&SelfSignedOptions::new(vec!["x.test".into()]))
        .unwrap();
    let names: Vec<String> = fs::read_dir(&my)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| !n.contains(&ghost)), "{names:?}");
}

#[test]
fn concurrent_writers_from_separate_handles_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("certs");
    CertStore::open(&path).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = CertStore::open(&path).unwrap();
                let t = store
                    .new_self_signed(&SelfSignedOptions::new(vec![format!("h{i}.test")]))
                    .unwrap();
                // Readers run meanwhile and never see a half-written certificate.
                for info in store.list(StoreName::My).unwrap() {
                    assert!(info.has_private_key, "{}", info.thumbprint);
                }
                t
            })
        })
        .collect();
    let mut made: Vec<Thumbprint> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    made.sort();
    let store = CertStore::open(&path).unwrap();
    let mut listed: Vec<Thumbprint> = store
        .list(StoreName::My)
        .unwrap()
        .into_iter()
        .map(|i| i.thumbprint)
        .collect();
    listed.sort();
    assert_eq!(listed, made);
}

/// A CA made with openssl signs our request; the answer comes back as PEM with chain, as
/// DER, and as PKCS#7 (PEM and DER); each is installed with its pending key.
#[test]
fn requests_are_completed_from_every_answer_format() {
    let ca = tempfile::tempdir().unwrap();
    let d = ca.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=Request Test CA",
            "-days",
            "3",
        ],
    );
    fs::write(
        d.join("ext"),
        "subjectAltName=DNS:req.test,IP:10.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();

    for (i, format) in ["pem-chain", "der", "p7b-pem", "p7b-der"]
        .into_iter()
        .enumerate()
    {
        let (_dir, store) = new_store();
        let mut opts = RequestOptions::new(vec!["req.test".into(), "10.0.0.1".into()]);
        opts.subject = Some("CN=req.test, O=Example\\, Inc., C=US".into());
        opts.friendly_name = Some(format!("answer {format}"));
        let (pending, csr) = store.request(&opts).unwrap();
        assert_eq!(store.pending_requests().unwrap().len(), 1);
        assert_eq!(
            mode(&store.dir().join(format!("REQUEST/{}.key", pending.id))),
            0o600
        );
        fs::write(d.join("r.csr"), &csr).unwrap();
        let serial = format!("{:02}", i + 10);
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "r.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                &serial,
                "-days",
                "2",
                "-extfile",
                "ext",
                "-out",
                "leaf.pem",
            ],
        );
        let answer = match format {
            "pem-chain" => {
                let mut b = fs::read(d.join("leaf.pem")).unwrap();
                b.extend(fs::read(d.join("ca.pem")).unwrap());
                b
            }
            "der" => {
                openssl(
                    d,
                    &[
                        "x509", "-in", "leaf.pem", "-outform", "DER", "-out", "leaf.der",
                    ],
                );
                fs::read(d.join("leaf.der")).unwrap()
            }
            "p7b-pem" => {
                openssl(
                    d,
                    &[
                        "crl2pkcs7",
                        "-nocrl",
                        "-certfile",
                        "ca.pem",
                        "-certfile",
                        "leaf.pem",
                        "-out",
                        "a.p7b",
                    ],
                );
                fs::read(d.join("a.p7b")).unwrap()
            }
            _ => {
                openssl(
                    d,
                    &[
                        "crl2pkcs7",
                        "-nocrl",
                        "-certfile",
                        "leaf.pem",
                        "-certfile",
                        "ca.pem",
                        "-outform",
                        "DER",
                        "-out",
                        "a.p7b",
                    ],
                );
                fs::read(d.join("a.p7b")).unwrap()
            }
        };
        let out = store
            .complete(&answer)
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let info = store.get(StoreName::My, &out.thumbprint).unwrap();
        assert!(info.has_private_key, "{format}");
        assert_eq!(
            info.friendly_name.as_deref(),
            Some(opts.friendly_name.as_deref().unwrap())
        );
        assert_eq!(info.issuer, "CN=Request Test CA");
        assert!(info.subject.contains("O=Example, Inc."), "{}", info.subject);
        let chain = store.chain_der(StoreName::My, &out.thumbprint).unwrap();
        let expect = if format == "der" { 1 } else { 2 };
        assert_eq!(chain.len(), expect, "{format}");
        assert!(store.certified_key(&out.thumbprint).is_ok());
        assert!(store.pending_requests().unwrap().is_empty());
        // The same answer again matches no pending request any more.
        assert!(matches!(
            store.complete(&answer),
            Err(Error::NoMatchingRequest)
        ));
    }
}

#[test]
fn an_answer_for_another_key_is_refused_and_the_request_stays() {
    let (_dir, store) = new_store();
    store
        .request(&RequestOptions::new(vec!["mine.test".into()]))
        .unwrap();
    let (_d2, other) = new_store();
    let t = other
        .new_self_signed(&SelfSignedOptions::new(vec!["mine.test".into()]))
        .unwrap();
    let foreign = other.export_pem(&t).unwrap();
    assert!(matches!(
        store.complete(foreign.as_bytes()),
        Err(Error::NoMatchingRequest)
    ));
    assert_eq!(store.pending_requests().unwrap().len(), 1);
    assert!(store.list(StoreName::My).unwrap().is_empty());
    for junk in [
        &b""[..],
        b"garbage",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        let e = store.complete(junk).unwrap_err().to_string();
        assert!(e.contains("response"), "{e}");
    }
}

/// The real update-ca-certificates, run on temp dirs: the trusted certificate lands in the
/// generated bundle and leaves it again on untrust.
#[test]
fn trust_and_untrust_with_the_real_update_ca_certificates() {
    let Some(tool) = [
        "/usr/sbin/update-ca-certificates",
        "/usr/bin/update-ca-certificates",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists()) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "update-ca-certificates is required under CI (apt-get install ca-certificates)"
        );
        println!("skipped: update-ca-certificates not installed");
        return;
    };
    let (_dir, store) = new_store();
    let sys = tempfile::tempdir().unwrap();
    let s = sys.path();
    for d in ["local", "etc", "share", "hooks"] {
        fs::create_dir(s.join(d)).unwrap();
    }
    // Like a real system, the configuration lists a distribution CA: with --fresh, the
    // tool rebuilds the bundle only when it re-adds something.
    let (_d2, other) = new_store();
    let distro = other
        .new_self_signed(&SelfSignedOptions::new(vec!["distro-ca.test".into()]))
        .unwrap();
    fs::write(
        s.join("share/distro.crt"),
        other.export_pem(&distro).unwrap(),
    )
    .unwrap();
    fs::write(s.join("ca-certificates.conf"), "distro.crt\n").unwrap();
    let command = format!(
        "{tool} --localcertsdir {0}/local --etccertsdir {0}/etc --certsdir {0}/share --certsconf {0}/ca-certificates.conf --hooksdir {0}/hooks",
        s.display()
    );
    let target = TrustTarget::resolve(Some(s.join("local")), Some(&command));

    let mut opts = SelfSignedOptions::new(vec!["trust.test".into()]);
    opts.store = StoreName::Root;
    let t = store.new_self_signed(&opts).unwrap();
    let my = store
        .new_self_signed(&SelfSignedOptions::new(vec!["my.test".into()]))
        .unwrap();
    assert!(matches!(
        store.trust(&my, &target),
        Err(Error::NotInRoot(_))
    ));

    let out = store.trust(&t, &target).unwrap();
    assert!(out.changed);
    assert_eq!(mode(&out.path), 0o644);
    assert!(out.update_output.unwrap().contains("added"));
    let bundle = fs::read_to_string(s.join("etc/ca-certificates.crt")).unwrap();
    let pem = store.export_pem(&t).unwrap();
    assert!(bundle.contains(pem.trim()), "bundle lacks the certificate");
    assert!(!store.trust(&t, &target).unwrap().changed);

    let out = store.untrust(&t, &target).unwrap();
    assert!(out.changed && !out.path.exists());
    let bundle = fs::read_to_string(s.join("etc/ca-certificates.crt")).unwrap();
    assert!(!bundle.contains(pem.trim()));
    assert!(
        bundle.contains(other.export_pem(&distro).unwrap().trim()),
        "the rest stays trusted"
    );
    assert!(!store.untrust(&t, &target).unwrap().changed);

    // A failing update command leaves the directory as it was.
    let failing = TrustTarget::resolve(Some(s.join("local")), Some("false"));
    let e = store.trust(&t, &failing).unwrap_err().to_string();
    assert!(e.contains("`false` failed"), "{e}");
    assert!(fs::read_dir(s.join("local")).unwrap().next().is_none());
    let missing = TrustTarget::resolve(Some(s.join("local")), Some("/nonexistent/update-tool"));
    assert!(
        store
            .trust(&t, &missing)
            .unwrap_err()
            .to_string()
            .contains("not found")
    );
}

#[test]
fn trust_into_a_directory_without_permission_is_a_clear_error() {
    // Root ignores directory permissions, so make the target a path under a regular file.
    let (_dir, store) = new_store();
    let mut opts = SelfSignedOptions::new(vec!["perm.test".into()]);
    opts.store = StoreName::Root;
    let t = store.new_self_signed(&opts).unwrap();
    if nix_is_root() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let target = TrustTarget::resolve(Some(file.path().join("sub")), None);
        assert!(store.trust(&t, &target).is_err());
    } else {
        let ro = tempfile::tempdir().unwrap();
        fs::set_permissions(ro.path(), fs::Permissions::from_mode(0o500)).unwrap();
        let target = TrustTarget::resolve(Some(ro.path().to_owned()), None);
        let e = store.trust(&t, &target).unwrap_err().to_string();
        assert!(e.contains("permission denied") && e.contains("sudo"), "{e}");
    }
}

fn nix_is_root() -> bool {
    // /proc/self/status "Uid:" line; avoids a dependency for one check.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
