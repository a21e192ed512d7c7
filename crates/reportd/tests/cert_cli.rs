//! `reportctl cert ...` end to end: the real binary against the real `openssl` CLI, in both
//! directions, on temp data dirs.
//!
//! - our thumbprints are `openssl x509 -fingerprint -sha1`;
//! - our PFX files (AES and `--legacy`) are read by `openssl pkcs12`, key matching cert;
//! - openssl's PFX files (default, `-legacy`, Windows-style 3DES with a CSP name, with a
//!   chain) import with the right thumbprint, key and friendly name;
//! - a CSR verifies with `openssl req -verify`, is signed by an openssl CA, completed from
//!   PEM and PKCS#7 answers and listed with its private key;
//! - every bad input fails with one line on stderr, a non-zero exit and the store unchanged;
//! - concurrent `reportctl` processes do not corrupt the store;
//! - `cert trust|untrust` with the real update-ca-certificates on temp dirs, and the
//!   permission error on the real system directory for an unprivileged user.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::openssl_in;

const BIN: &str = env!("CARGO_BIN_EXE_reportctl");

/// A data dir and a scratch dir for files handed to reportctl and openssl.
struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    /// An initialized instance: `cert` commands refuse a directory that is not one.
    fn new() -> Self {
        let env = Env {
            tmp: tempfile::tempdir().unwrap(),
        };
        let out = env.run(&["init"]);
        assert!(out.status.success(), "{out:?}");
        env
    }
    fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }
    fn work(&self) -> PathBuf {
        let w = self.tmp.path().join("work");
        fs::create_dir_all(&w).unwrap();
        w
    }
    fn path(&self, name: &str) -> PathBuf {
        self.work().join(name)
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir")
            .arg(self.data())
            .args(args)
            .current_dir(self.work())
            .env_remove("REPORTD_TRUST_DIR")
            .env_remove("REPORTD_TRUST_UPDATE_COMMAND")
            .env_remove("REPORTD_DATA_DIR");
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
    /// Runs and requires success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "reportctl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
    /// Runs and requires failure with exactly one line on stderr; returns it.
    fn fail(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "reportctl {args:?} succeeded: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
        assert!(err.starts_with("reportctl: error: "), "{err}");
        err
    }
    /// Every file of the certificate store with its bytes: "unchanged" means this is equal.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let root = self.data().join("certs");
        if root.exists() {
            walk(&root, &root, &mut out);
        }
        out
    }
    fn openssl(&self, args: &[&str]) -> String {
        openssl_in(&self.work(), args)
    }
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    }
    fn list_json(&self, store: &str) -> Vec<serde_json::Value> {
        let out = self.ok(&["--json", "cert", "list", "--store", store]);
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if p.file_name().unwrap() != ".lock" {
            let name = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(name, fs::read(&p).unwrap());
        }
    }
}

/// `openssl x509 -fingerprint -sha1` as 40 hex digits.
fn openssl_sha1(env: &Env, cert: &str) -> String {
    let out = env.openssl(&["x509", "-in", cert, "-noout", "-fingerprint", "-sha1"]);
    out.trim()
        .split('=')
        .nth(1)
        .unwrap()
        .replace(':', "")
        .to_uppercase()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A self-signed certificate and key made by openssl: `<name>.pem`, `<name>.key`.
fn openssl_cert(env: &Env, name: &str, newkey: &[&str], cn: &str) {
    let mut args = vec!["req", "-x509", "-nodes", "-days", "30", "-subj"];
    let subj = format!("/CN={cn}");
    let san = format!("subjectAltName=DNS:{cn}");
    let key = format!("{name}.key");
    let pem = format!("{name}.pem");
    args.extend([
        subj.as_str(),
        "-addext",
        san.as_str(),
        "-keyout",
        key.as_str(),
        "-out",
        pem.as_str(),
    ]);
    args.extend(newkey);
    env.openssl(&args);
}

fn show_field(show: &str, field: &str) -> String {
    show.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}: ")))
        .unwrap_or_else(|| panic!("no {field} in {show}"))
        .to_owned()
}

#[test]
fn self_signed_thumbprint_is_openssls_and_show_tells_everything() {
    let env = Env::new();
    let out = env.ok(&[
        "cert",
        "new-self-signed",
        "--dns-name",
        "localhost",
        "--dns-name",
        "127.0.0.1",
        "--friendly-name",
        "Test server",
        "--days",
        "90",
    ]);
    let thumb = out.trim().to_owned();
    assert_eq!(thumb.len(), 40, "{out}");
    assert!(
        thumb
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );

    env.ok(&["cert", "export", &thumb, "--pem", "c.pem"]);
    assert_eq!(openssl_sha1(&env, "c.pem"), thumb);
    let text = env.openssl(&["x509", "-in", "c.pem", "-noout", "-text"]);
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    assert!(
        text.contains("DNS:localhost, IP Address:127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("ASN1 OID: prime256v1"), "{text}");

    // Any case, spaces and colons name the same certificate.
    let spaced: String = thumb
        .to_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let show = env.ok(&["cert", "show", &spaced]);
    assert_eq!(show_field(&show, "Thumbprint"), thumb);
    assert_eq!(show_field(&show, "Private key"), "yes");
    assert_eq!(show_field(&show, "Server authentication"), "yes");
    assert_eq!(show_field(&show, "CA"), "no");
    assert_eq!(show_field(&show, "Key type"), "ECDSA P-256");
    assert_eq!(show_field(&show, "Friendly name"), "Test server");
    assert_eq!(show_field(&show, "Subject"), "CN=localhost");
    assert_eq!(
        show_field(&show, "Subject alternative names"),
        "DNS:localhost, IP:127.0.0.1"
    );
    let sha256 = env.openssl(&["x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256"]);
    assert_eq!(
        show_field(&show, "SHA-256"),
        sha256.trim().split('=').nth(1).unwrap().replace(':', "")
    );
    assert!(!show.contains("Warning:"), "{show}");
    for line in show.lines() {
        assert!(
            line.contains(": ") || line.ends_with(':'),
            "not Field: value: {line}"
        );
    }

    let list = env.list_json("My");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["thumbprint"], thumb);
    assert_eq!(list[0]["has_private_key"], true);
    assert_eq!(list[0]["key_type"], "ECDSA P-256");
    let human = env.ok(&["cert", "list"]);
    assert!(
        human.contains(&thumb) && human.contains("\"Test server\""),
        "{human}"
    );
    assert!(
        env.ok(&["cert", "list", "--store", "root"])
            .contains("No certificates")
    );

    let shown: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "cert", "show", &thumb])).unwrap();
    assert_eq!(shown["server_auth"], true);
    assert_eq!(
        shown["sans"],
        serde_json::json!(["DNS:localhost", "IP:127.0.0.1"])
    );

    // Key files are owner-only, directories private.
    let key = env.data().join(format!("certs/My/{thumb}.key"));
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&env.data().join("certs/My")), 0o700);
}

#[test]
fn our_pfx_files_are_read_by_openssl_with_the_key_matching() {
    let env = Env::new();
    env.write("pw", "pfx pass\n");
    for key_type in ["ecdsa-p256", "rsa-2048", "rsa-3072"] {
        let thumb = env
            .ok(&[
                "cert",
                "new-self-signed",
                "--dns-name",
                "pfx.test",
                "--key-type",
                key_type,
            ])
            .trim()
            .to_owned();
        for legacy in [false, true] {
            let file = format!("{key_type}-{legacy}.pfx");
            let mut args = vec![
                "cert",
                "export",
                &thumb,
                "--pfx",
                &file,
                "--password-file",
                "pw",
            ];
            if legacy {
                args.push("--legacy");
            }
            env.ok(&args);
            assert_eq!(mode(&env.path(&file)), 0o600, "a PFX holds a key");
            let info = env.openssl(&[
                "pkcs12",
                "-in",
                &file,
                "-passin",
                "pass:pfx pass",
                "-info",
                "-noout",
            ]);
            if legacy {
                assert!(info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{info}");
                assert!(info.contains("MAC: sha1"), "{info}");
            } else {
                assert!(info.contains("PBES2, PBKDF2, AES-256-CBC"), "{info}");
                assert!(info.contains("MAC: sha256"), "{info}");
            }
            let all = format!("{key_type}-{legacy}.all.pem");
            env.openssl(&[
                "pkcs12", "-in", &file, "-passin", "file:pw", "-nodes", "-out", &all,
            ]);
            let cert_pub = env.openssl(&["x509", "-in", &all, "-noout", "-pubkey"]);
            let key_pub = env.openssl(&["pkey", "-in", &all, "-pubout"]);
            assert_eq!(
                cert_pub, key_pub,
                "{key_type} legacy={legacy}: key does not match cert"
            );
            assert_eq!(openssl_sha1(&env, &all), thumb);
            // And a wrong password is refused by openssl too: the MAC is real.
            let bad = Command::new("openssl")
                .current_dir(env.work())
                .args(["pkcs12", "-in", &file, "-passin", "pass:nope", "-noout"])
                .output()
                .unwrap();
            assert!(!bad.status.success());
        }
    }
}

#[test]
fn openssl_pfx_files_import_with_the_right_thumbprint() {
    let env = Env::new();
    env.write("pw", "openssl pass\r\n");
    // A CA and a leaf it signs, for the PFX with a chain.
    openssl_cert(
        &env,
        "ca",
        &[
            "-newkey",
            "rsa:2048",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
        "PFX Test CA",
    );
    env.openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=leaf.test",
    ]);
    env.write(
        "leaf.ext",
        "subjectAltName=DNS:leaf.test\nextendedKeyUsage=serverAuth\n",
    );
    env.openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "7",
        "-days",
        "10",
        "-extfile",
        "leaf.ext",
        "-out",
        "leaf.pem",
    ]);
    openssl_cert(&env, "rsa", &["-newkey", "rsa:3072"], "rsa.test");

    let cases: Vec<(&str, Vec<&str>, &str, &str)> = vec![
        ("default", vec![], "leaf", ""),
        ("legacy", vec!["-legacy"], "leaf", ""),
        (
            "windows",
            vec![
                "-certpbe",
                "PBE-SHA1-3DES",
                "-keypbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
                "-CSP",
                "Microsoft Enhanced RSA and AES Cryptographic Provider",
                "-name",
                "IIS Reports",
            ],
            "rsa",
            "IIS Reports",
        ),
        (
            "named",
            vec!["-name", "From openssl"],
            "rsa",
            "From openssl",
        ),
    ];
    for (label, extra, base, friendly) in cases {
        let pfx = format!("{label}.pfx");
        let cert = format!("{base}.pem");
        let key = format!("{base}.key");
        let mut args = vec![
            "pkcs12",
            "-export",
            "-in",
            cert.as_str(),
            "-inkey",
            key.as_str(),
            "-passout",
            "pass:openssl pass",
            "-out",
            pfx.as_str(),
        ];
        if base == "leaf" {
            args.extend(["-certfile", "ca.pem"]);
        }
        args.extend(extra.iter().copied());
        env.openssl(&args);
        let expect = openssl_sha1(&env, &cert);

        let fresh = Env::new();
        fs::copy(env.path(&pfx), fresh.path(&pfx)).unwrap();
        fs::copy(env.path("pw"), fresh.path("pw")).unwrap();
        let out = fresh.ok(&["cert", "import", "--pfx", &pfx, "--password-file", "pw"]);
        assert!(
            out.contains(&expect) && out.contains("with its private key"),
            "{label}: {out}"
        );
        let show = fresh.ok(&["cert", "show", &expect]);
        assert_eq!(show_field(&show, "Private key"), "yes", "{label}");
        assert_eq!(show_field(&show, "Friendly name"), friendly, "{label}");
        if base == "leaf" {
            assert_eq!(show_field(&show, "Key type"), "ECDSA P-384");
            assert_eq!(show_field(&show, "Issuer"), "CN=PFX Test CA");
            // The chain came along: a re-export carries both certificates.
            fresh.ok(&[
                "cert",
                "export",
                &expect,
                "--pfx",
                "again.pfx",
                "--password-file",
                "pw",
            ]);
            // (openssl keeps the CR of a CRLF password file; reportctl strips it, per SPEC §1.)
            let all = fresh.openssl(&[
                "pkcs12",
                "-in",
                "again.pfx",
                "-passin",
                "pass:openssl pass",
                "-nokeys",
            ]);
            assert_eq!(
                all.matches("BEGIN CERTIFICATE").count(),
                2,
                "{label}: {all}"
            );
        } else {
            assert_eq!(show_field(&show, "Key type"), "RSA 3072");
        }
        // Again: a no-op that says so.
        let before = fresh.snapshot();
        let again = fresh.ok(&["cert", "import", "--pfx", &pfx, "--password-file", "pw"]);
        assert!(
            again.contains("already in store My; nothing changed"),
            "{again}"
        );
        assert_eq!(fresh.snapshot(), before);
        // Into Root it is a different store.
        fresh.ok(&[
            "cert",
            "import",
            "--pfx",
            &pfx,
            "--password-file",
            "pw",
            "--store",
            "Root",
        ]);
        assert_eq!(fresh.list_json("Root").len(), 1);
    }
}

#[test]
fn pem_imports_take_pkcs8_pkcs1_and_sec1_keys_and_der() {
    let env = Env::new();
    // PKCS#1 RSA, SEC1 EC, PKCS#8 EC: each with a certificate made from that key.
    env.openssl(&["genrsa", "-traditional", "-out", "pkcs1.key", "2048"]);
    env.openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "sec1.key",
    ]);
    env.openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-out",
        "pkcs8.key",
    ]);
    for (name, label) in [
        ("pkcs1", "BEGIN RSA PRIVATE KEY"),
        ("sec1", "BEGIN EC PRIVATE KEY"),
        ("pkcs8", "BEGIN PRIVATE KEY"),
    ] {
        let key = format!("{name}.key");
        assert!(
            fs::read_to_string(env.path(&key)).unwrap().contains(label),
            "{name}"
        );
        let cert = format!("{name}.pem");
        env.openssl(&[
            "req",
            "-new",
            "-x509",
            "-key",
            &key,
            "-out",
            &cert,
            "-days",
            "5",
            "-subj",
            &format!("/CN={name}.test"),
            "-addext",
            &format!("subjectAltName=DNS:{name}.test"),
        ]);
        let out = env.ok(&["cert", "import", "--pem", &cert, "--key", &key]);
        let thumb = openssl_sha1(&env, &cert);
        assert!(
            out.contains(&thumb) && out.contains("with its private key"),
            "{name}: {out}"
        );
        let stored = env.data().join(format!("certs/My/{thumb}.key"));
        assert!(
            fs::read_to_string(&stored)
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----"),
            "{name}: stored as PKCS#8"
        );
        assert_eq!(mode(&stored), 0o600);
        // What we stored is the same key: openssl derives the same public key from it.
        let ours = env.openssl(&["pkey", "-in", stored.to_str().unwrap(), "-pubout"]);
        let theirs = env.openssl(&["pkey", "-in", &key, "-pubout"]);
        assert_eq!(ours, theirs, "{name}");
    }
    // DER certificate and DER key; a PEM file holding both certificate and key.
    env.openssl(&[
        "x509",
        "-in",
        "pkcs1.pem",
        "-outform",
        "DER",
        "-out",
        "der.cer",
    ]);
    env.openssl(&[
        "pkey",
        "-in",
        "pkcs1.key",
        "-outform",
        "DER",
        "-out",
        "der.key",
    ]);
    let fresh = Env::new();
    fs::copy(env.path("der.cer"), fresh.path("der.cer")).unwrap();
    fs::copy(env.path("der.key"), fresh.path("der.key")).unwrap();
    assert!(
        fresh
            .ok(&["cert", "import", "--pem", "der.cer", "--key", "der.key"])
            .contains("with its private key")
    );
    let mut both = fs::read(env.path("sec1.pem")).unwrap();
    both.extend(fs::read(env.path("sec1.key")).unwrap());
    fresh.write("both.pem", both);
    assert!(
        fresh
            .ok(&["cert", "import", "--pem", "both.pem"])
            .contains("with its private key")
    );
    // A certificate alone into Root.
    fs::copy(env.path("pkcs8.pem"), fresh.path("root.pem")).unwrap();
    let out = fresh.ok(&[
        "cert",
        "import",
        "--pem",
        "root.pem",
        "--store",
        "Root",
        "--friendly-name",
        "A root",
    ]);
    assert!(out.contains("without a private key"), "{out}");
    let roots = fresh.list_json("Root");
    assert_eq!(roots[0]["friendly_name"], "A root");
    assert_eq!(roots[0]["has_private_key"], false);
}

#[test]
fn a_request_is_verified_signed_by_an_openssl_ca_and_completed() {
    let env = Env::new();
    let out = env.ok(&[
        "cert",
        "request",
        "--dns-name",
        "reports.example.test",
        "--dns-name",
        "10.1.2.3",
        "--subject",
        "CN=reports.example.test,O=Example Org,C=US",
        "--out",
        "r.csr",
        "--key-type",
        "rsa-2048",
    ]);
    assert!(
        out.contains("r.csr") && out.contains("cert complete"),
        "{out}"
    );
    let verify = env.openssl(&["req", "-in", "r.csr", "-verify", "-noout"]);
    assert!(
        verify.contains("verify OK")
            || verify.contains("Certificate request self-signature verify OK"),
        "{verify}"
    );
    let text = env.openssl(&["req", "-in", "r.csr", "-noout", "-text"]);
    assert!(
        text.contains("DNS:reports.example.test, IP Address:10.1.2.3"),
        "{text}"
    );
    assert!(text.contains("O = Example Org"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    // The key waits in the store, not in My.
    assert!(env.list_json("My").is_empty());
    let pending: Vec<_> = fs::read_dir(env.data().join("certs/REQUEST"))
        .unwrap()
        .collect();
    assert_eq!(pending.len(), 2);

    openssl_cert(
        &env,
        "ca",
        &[
            "-newkey",
            "rsa:2048",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
        "CLI Test CA",
    );
    env.openssl(&[
        "x509",
        "-req",
        "-in",
        "r.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "42",
        "-days",
        "60",
        "-copy_extensions",
        "copy",
        "-out",
        "answer.pem",
    ]);
    let thumb = openssl_sha1(&env, "answer.pem");
    // The CA answers with a PKCS#7 bundle (leaf + CA), as Windows CAs do.
    env.openssl(&[
        "crl2pkcs7",
        "-nocrl",
        "-certfile",
        "answer.pem",
        "-certfile",
        "ca.pem",
        "-out",
        "answer.p7b",
    ]);
    let done = env.ok(&["cert", "complete", "--response", "answer.p7b"]);
    assert!(
        done.contains(&thumb) && done.contains("with its private key"),
        "{done}"
    );
    let list = env.list_json("My");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["thumbprint"], thumb);
    assert_eq!(list[0]["has_private_key"], true);
    assert_eq!(list[0]["issuer"], "CN=CLI Test CA");
    assert_eq!(list[0]["server_auth"], true);
    assert_eq!(
        fs::read_dir(env.data().join("certs/REQUEST"))
            .unwrap()
            .count(),
        0
    );
    // The installed pair works with openssl: export, and the key matches.
    env.write("pw", "x");
    env.ok(&[
        "cert",
        "export",
        &thumb,
        "--pfx",
        "done.pfx",
        "--password-file",
        "pw",
    ]);
    env.openssl(&[
        "pkcs12", "-in", "done.pfx", "-passin", "pass:x", "-nodes", "-out", "done.all",
    ]);
    assert_eq!(
        env.openssl(&["x509", "-in", "done.all", "-noout", "-pubkey"]),
        env.openssl(&["pkey", "-in", "done.all", "-pubout"])
    );

    // A second request answered with plain PEM.
    env.ok(&[
        "cert",
        "request",
        "--dns-name",
        "second.test",
        "--out",
        "s.csr",
    ]);
    env.openssl(&[
        "x509",
        "-req",
        "-in",
        "s.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "43",
        "-days",
        "60",
        "-copy_extensions",
        "copy",
        "-out",
        "second.pem",
    ]);
    env.ok(&["cert", "complete", "--response", "second.pem"]);
    assert_eq!(env.list_json("My").len(), 2);
}

#[test]
fn bad_inputs_fail_with_one_line_and_leave_the_store_unchanged() {
    let env = Env::new();
    let thumb = env
        .ok(&["cert", "new-self-signed", "--dns-name", "good.test"])
        .trim()
        .to_owned();
    env.write("pw", "right\n");
    env.write("wrongpw", "wrong\n");
    env.ok(&[
        "cert",
        "export",
        &thumb,
        "--pfx",
        "good.pfx",
        "--password-file",
        "pw",
    ]);
    let pfx = fs::read(env.path("good.pfx")).unwrap();
    env.write("truncated.pfx", &pfx[..pfx.len() / 2]);
    env.write(
        "garbage.bin",
        b"this is not a certificate at all \x00\x01\x02".repeat(20),
    );
    env.write("empty.pem", b"");
    // A certificate and a key that belong to different pairs.
    openssl_cert(
        &env,
        "a",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "a.test",
    );
    openssl_cert(
        &env,
        "b",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "b.test",
    );
    let a_pem = fs::read_to_string(env.path("a.pem")).unwrap();
    env.write("truncated.pem", &a_pem[..a_pem.len() / 2]);
    // Unsupported key types: Ed25519 and RSA 1024.
    openssl_cert(&env, "ed", &["-newkey", "ed25519"], "ed.test");
    openssl_cert(&env, "small", &["-newkey", "rsa:1024"], "small.test");
    // A PFX with a key and no certificate.
    env.openssl(&[
        "pkcs12",
        "-export",
        "-nocerts",
        "-inkey",
        "a.key",
        "-passout",
        "pass:right",
        "-out",
        "nocert.pfx",
    ]);
    // A PFX whose key does not belong to its certificate cannot be made by openssl (it
    // checks); the PEM route covers the mismatch.
    let unknown = "00".repeat(20);

    let before = env.snapshot();
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec![
                "cert",
                "import",
                "--pfx",
                "good.pfx",
                "--password-file",
                "wrongpw",
            ],
            &["password"],
        ),
        (
            vec![
                "cert",
                "import",
                "--pfx",
                "truncated.pfx",
                "--password-file",
                "pw",
            ],
            &["truncated"],
        ),
        (
            vec![
                "cert",
                "import",
                "--pfx",
                "garbage.bin",
                "--password-file",
                "pw",
            ],
            &["PKCS#12"],
        ),
        (
            vec![
                "cert",
                "import",
                "--pfx",
                "nocert.pfx",
                "--password-file",
                "pw",
            ],
            &["contains no certificate"],
        ),
        (
            vec!["cert", "import", "--pfx", "good.pfx"],
            &["--password-file"],
        ),
        (
            vec![
                "cert",
                "import",
                "--pfx",
                "missing.pfx",
                "--password-file",
                "pw",
            ],
            &["missing.pfx"],
        ),
        (
            vec!["cert", "import", "--pem", "garbage.bin"],
            &["not an X.509 certificate"],
        ),
        (
            vec!["cert", "import", "--pem", "truncated.pem"],
            &["truncated"],
        ),
        (vec!["cert", "import", "--pem", "empty.pem"], &["empty"]),
        (
            vec!["cert", "import", "--pem", "a.pem", "--key", "b.key"],
            &["does not match"],
        ),
        (
            vec!["cert", "import", "--pem", "a.pem", "--key", "garbage.bin"],
            &["private key"],
        ),
        (
            vec!["cert", "import", "--pem", "ed.pem", "--key", "ed.key"],
            &["unsupported key type Ed25519"],
        ),
        (
            vec!["cert", "import", "--pem", "small.pem", "--key", "small.key"],
            &["unsupported key type RSA"],
        ),
        (
            vec!["cert", "show", &unknown],
            &["no certificate with thumbprint"],
        ),
        (
            vec!["cert", "export", &unknown, "--pem", "x.pem"],
            &["no certificate with thumbprint"],
        ),
        (
            vec!["cert", "remove", &unknown],
            &["no certificate with thumbprint"],
        ),
        (
            vec!["cert", "remove", &thumb, "--store", "Root"],
            &["store Root"],
        ),
        (
            vec!["cert", "export", &thumb, "--pfx", "x.pfx"],
            &["--password-file"],
        ),
        (
            vec![
                "cert",
                "export",
                &thumb,
                "--pfx",
                "no/such/dir/x.pfx",
                "--password-file",
                "pw",
            ],
            &["x.pfx"],
        ),
        (
            vec!["cert", "complete", "--response", "a.pem"],
            &["matches no pending request"],
        ),
        (
            vec!["cert", "complete", "--response", "garbage.bin"],
            &["response"],
        ),
        (
            vec!["cert", "new-self-signed", "--dns-name", "bad name"],
            &["--dns-name"],
        ),
        (
            vec![
                "cert",
                "new-self-signed",
                "--dns-name",
                "x.test",
                "--days",
                "0",
            ],
            &["--days"],
        ),
        (
            vec![
                "cert",
                "request",
                "--dns-name",
                "x.test",
                "--subject",
                "CN=x,Q=1",
                "--out",
                "x.csr",
            ],
            &["--subject"],
        ),
        (
            vec![
                "cert",
                "request",
                "--dns-name",
                "x.test",
                "--out",
                "no/such/dir/x.csr",
            ],
            &["does not exist"],
        ),
        (
            vec!["cert", "trust", &thumb, "--trust-dir", "tdir"],
            &["not in the Root store"],
        ),
    ];
    for (args, needles) in cases {
        let err = env.fail(&args);
        for n in needles {
            assert!(err.contains(n), "{args:?}: {err:?} lacks {n:?}");
        }
        assert_eq!(env.snapshot(), before, "{args:?} changed the store");
    }
    // A wrong thumbprint spelling is refused by the parser (clap's own message, exit 2).
    let out = env.run(&["cert", "show", "not-a-thumbprint"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("40 hex digits"));
    // No certificate was written for the failed export/trust either.
    assert!(!env.path("x.pem").exists() && !env.path("tdir").exists());
}

#[test]
fn an_expired_certificate_imports_with_a_warning() {
    let env = Env::new();
    env.write("ca.cnf", "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
        default_md = sha256\npolicy = p\nunique_subject = no\ncopy_extensions = copy\n[p]\ncommonName = supplied\n");
    env.write("index.txt", "");
    env.write("serial", "01\n");
    env.openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "e.key",
        "-out",
        "e.csr",
        "-subj",
        "/CN=expired.test",
        "-addext",
        "subjectAltName=DNS:expired.test",
    ]);
    env.openssl(&[
        "ca",
        "-config",
        "ca.cnf",
        "-batch",
        "-selfsign",
        "-keyfile",
        "e.key",
        "-in",
        "e.csr",
        "-out",
        "e.pem",
        "-startdate",
        "20200101000000Z",
        "-enddate",
        "20200201000000Z",
        "-notext",
    ]);
    let out = env.run(&["cert", "import", "--pem", "e.pem", "--key", "e.key"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("expired on 2020-02-01"),
        "{err}"
    );
    let thumb = openssl_sha1(&env, "e.pem");
    let show = env.ok(&["cert", "show", &thumb]);
    assert!(
        show.contains("Warning: expired on 2020-02-01T00:00:00Z"),
        "{show}"
    );
    let list = env.ok(&["cert", "list"]);
    assert!(list.contains("[expired on"), "{list}");
}

#[test]
fn remove_deletes_and_asks_which_store_when_in_both() {
    let env = Env::new();
    let thumb = env
        .ok(&["cert", "new-self-signed", "--dns-name", "rm.test"])
        .trim()
        .to_owned();
    env.ok(&["cert", "export", &thumb, "--pem", "rm.pem"]);
    env.ok(&["cert", "import", "--pem", "rm.pem", "--store", "root"]);
    let err = env.fail(&["cert", "remove", &thumb]);
    assert!(
        err.contains("both My and Root") && err.contains("--store"),
        "{err}"
    );
    // show without --store prefers My
    assert_eq!(
        show_field(&env.ok(&["cert", "show", &thumb]), "Store"),
        "My"
    );
    assert!(
        env.ok(&["cert", "remove", &thumb, "--store", "My"])
            .contains("Removed")
    );
    assert!(env.list_json("My").is_empty());
    assert!(!env.data().join(format!("certs/My/{thumb}.key")).exists());
    assert!(
        env.ok(&["cert", "remove", &thumb])
            .contains("from store Root")
    );
    assert!(
        env.snapshot().is_empty(),
        "{:?}",
        env.snapshot().keys().collect::<Vec<_>>()
    );
}

#[test]
fn concurrent_reportctl_processes_do_not_corrupt_the_store() {
    let env = Env::new();
    env.ok(&["cert", "list"]); // creates the store
    let children: Vec<_> = (0..6)
        .map(|i| {
            let name = format!("c{i}.test");
            env.cmd(&["cert", "new-self-signed", "--dns-name", &name])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut made = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        made.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
    }
    let list = env.list_json("My");
    let mut listed: Vec<String> = list
        .iter()
        .map(|c| c["thumbprint"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    made.sort();
    assert_eq!(listed, made);
    assert!(list.iter().all(|c| c["has_private_key"] == true));
    let files = env.snapshot();
    assert_eq!(
        files.len(),
        18,
        "three files per certificate, no leftovers: {:?}",
        files.keys()
    );
}

/// Hermetic: REPORTD_TRUST_DIR and --update-command point the real update-ca-certificates
/// at temp dirs; the certificate lands in the generated bundle, and openssl verifies a
/// certificate against that bundle.
#[test]
fn trust_and_untrust_through_the_real_update_tool_on_temp_dirs() {
    let tool = "/usr/sbin/update-ca-certificates";
    if !Path::new(tool).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "update-ca-certificates is required under CI (apt-get install ca-certificates)"
        );
        println!("skipped: update-ca-certificates not installed");
        return;
    }
    let env = Env::new();
    let sys = env.tmp.path().join("sys");
    for d in ["local", "etc", "share", "hooks"] {
        fs::create_dir_all(sys.join(d)).unwrap();
    }
    // A distribution CA listed in the configuration, as on a real system.
    openssl_cert(
        &env,
        "distro",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "distro.test",
    );
    fs::copy(env.path("distro.pem"), sys.join("share/distro.crt")).unwrap();
    fs::write(sys.join("ca-certificates.conf"), "distro.crt\n").unwrap();
    let update = format!(
        "{tool} --localcertsdir {0}/local --etccertsdir {0}/etc --certsdir {0}/share --certsconf {0}/ca-certificates.conf --hooksdir {0}/hooks",
        sys.display()
    );
    let thumb = env
        .ok(&[
            "cert",
            "new-self-signed",
            "--dns-name",
            "trusted.test",
            "--store",
            "Root",
        ])
        .trim()
        .to_owned();
    env.ok(&["cert", "export", &thumb, "--pem", "t.pem"]);
    let trust = |verb: &str| {
        let out = env
            .cmd(&["cert", verb, &thumb])
            .env("REPORTD_TRUST_DIR", sys.join("local"))
            .env("REPORTD_TRUST_UPDATE_COMMAND", &update)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let out = trust("trust");
    assert!(out.contains("Trusted") && out.contains("added"), "{out}");
    let crt = sys.join(format!("local/reportd-{thumb}.crt"));
    assert_eq!(mode(&crt), 0o644);
    let bundle = sys.join("etc/ca-certificates.crt");
    let verify = env.openssl(&["verify", "-CAfile", bundle.to_str().unwrap(), "t.pem"]);
    assert!(verify.contains("t.pem: OK"), "{verify}");
    assert!(trust("trust").contains("already trusted"));

    let out = trust("untrust");
    assert!(out.contains("Untrusted"), "{out}");
    assert!(!crt.exists());
    let failed = Command::new("openssl")
        .current_dir(env.work())
        .args(["verify", "-CAfile", bundle.to_str().unwrap(), "t.pem"])
        .output()
        .unwrap();
    assert!(!failed.status.success(), "still trusted after untrust");
    assert!(trust("untrust").contains("nothing changed"));
}

/// The real default directory, as a user who may not write it: a clear one-line error
/// that says what to do, and nothing written. Runs as `nobody` when the tests run as root.
#[test]
fn trust_without_permission_on_the_system_store_is_a_clear_error() {
    let env = Env::new();
    let thumb = env
        .ok(&[
            "cert",
            "new-self-signed",
            "--dns-name",
            "perm.test",
            "--store",
            "Root",
        ])
        .trim()
        .to_owned();
    let is_root = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let out = if is_root {
        if !Path::new("/usr/local/share/ca-certificates").is_dir()
            || !Path::new("/usr/bin/setpriv").exists()
        {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "/usr/local/share/ca-certificates and setpriv are required under CI"
            );
            println!("skipped: no /usr/local/share/ca-certificates or setpriv");
            return;
        }
        // Hand the data dir to nobody, then run reportctl as nobody.
        let chown = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(env.tmp.path())
            .status()
            .unwrap();
        assert!(chown.success());
        let mut c = Command::new("/usr/bin/setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "--data-dir",
        ])
        .arg(env.data())
        .args(["cert", "trust", &thumb])
        .current_dir("/")
        .env_remove("REPORTD_TRUST_DIR")
        .env_remove("REPORTD_TRUST_UPDATE_COMMAND");
        c.output().unwrap()
    } else {
        env.run(&["cert", "trust", &thumb])
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("permission denied") && err.contains("sudo"),
        "{err}"
    );
    assert!(
        !Path::new(&format!(
            "/usr/local/share/ca-certificates/reportd-{thumb}.crt"
        ))
        .exists()
    );
}

/// Windows exports PFX files with an empty password; openssl writes them with
/// `-passout pass:`. An empty password file reads and writes them.
#[test]
fn empty_password_pfx_files_work_both_ways() {
    let env = Env::new();
    openssl_cert(&env, "e", &["-newkey", "rsa:2048"], "empty.test");
    env.write("empty", "");
    for (file, extra) in [("modern.pfx", None), ("legacy.pfx", Some("-legacy"))] {
        let mut args = vec![
            "pkcs12", "-export", "-in", "e.pem", "-inkey", "e.key", "-passout", "pass:", "-out",
            file,
        ];
        args.extend(extra);
        env.openssl(&args);
    }
    let thumb = openssl_sha1(&env, "e.pem");
    assert!(
        env.ok(&[
            "cert",
            "import",
            "--pfx",
            "modern.pfx",
            "--password-file",
            "empty"
        ])
        .contains(&thumb)
    );
    assert!(
        env.ok(&[
            "cert",
            "import",
            "--pfx",
            "legacy.pfx",
            "--password-file",
            "empty",
            "--store",
            "Root"
        ])
        .contains(&thumb)
    );
    env.ok(&[
        "cert",
        "export",
        &thumb,
        "--pfx",
        "ours.pfx",
        "--password-file",
        "empty",
    ]);
    env.openssl(&[
        "pkcs12", "-in", "ours.pfx", "-passin", "pass:", "-nodes", "-out", "ours.pem",
    ]);
    assert_eq!(openssl_sha1(&env, "ours.pem"), thumb);
}
