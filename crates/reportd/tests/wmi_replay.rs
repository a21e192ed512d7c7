//! Replays of the management API call sequences of the two real SSRS automation clients,
//! built as they build them (read from their sources):
//! - SqlServerDsc `DSC_SqlRS` Set on a fresh instance — `Invoke-CimMethod` with a hashtable
//!   of *named* arguments (sent here as JSON on `reportd.sock`, typed as CIM types);
//! - ReportingServicesTools `Set-RsUrlReservation`, `Set-RsDatabase`,
//!   `Backup-RsEncryptionKey` / `Restore-RsEncryptionKey` — `$wmi.Method(a, b, c)`,
//!   *positional* in MOF order (sent here through `reportctl wmi METHOD VALUE...`).
//!
//! Every reply must be `HRESULT` 0; the end state is checked from outside: psql sees the
//! database the scripts made, curl gets the pages on the new virtual directories, openssl
//! sees the bound certificate.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use common::*;
use serde_json::{Value, json};

const PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Whether the outside tools and PostgreSQL are here; under CI a missing one fails.
fn tools_ready() -> bool {
    let ok = |c: &str, a: &[&str]| {
        Command::new(c)
            .args(a)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let missing: Vec<&str> = [
        ("curl", ok("curl", &["--version"])),
        ("openssl", ok("openssl", &["version"])),
        ("PostgreSQL (psql)", ok("psql", &[PG, "-c", "select 1"])),
    ]
    .into_iter()
    .filter(|(_, present)| !present)
    .map(|(n, _)| n)
    .collect();
    if missing.is_empty() {
        return true;
    }
    skipped(&format!("missing {missing:?}"))
}

/// A psql script run against the maintenance database, as DSC runs its scripts on `master`.
fn psql_script(script: &str) {
    let mut c = Command::new("psql")
        .args([PG, "-v", "ON_ERROR_STOP=1", "-q", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "script failed: {}\n{script}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn psql_query(db: &str, sql: &str) -> String {
    let url = format!(
        "postgres://postgres@127.0.0.1:5432/{}",
        db.replace('$', "%24")
    );
    let o = Command::new("psql")
        .args([&url, "-tA", "-c", sql])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// Drops the test databases whatever happens.
struct Databases(Vec<String>);

impl Drop for Databases {
    fn drop(&mut self) {
        for db in &self.0 {
            let _ = Command::new("psql")
                .args([
                    PG,
                    "-q",
                    "-c",
                    &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
                ])
                .output();
        }
    }
}

fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}", std::process::id())
}

/// One request on the management socket, answered by one JSON line.
fn socket_call(inst: &Instance, req: Value) -> Value {
    let mut s = UnixStream::connect(inst.dir.join("reportd.sock")).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut line = serde_json::to_vec(&req).unwrap();
    line.push(b'\n');
    s.write_all(&line).unwrap();
    let mut answer = String::new();
    BufReader::new(&s).read_line(&mut answer).unwrap();
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
}

/// What `Invoke-RsCimMethod` does: call with named arguments, require `HRESULT` 0.
fn dsc_invoke(inst: &Instance, method: &str, arguments: Value) -> Value {
    let r = socket_call(
        inst,
        json!({"Op": "Invoke", "Class": "MSReportServer_ConfigurationSetting",
               "Method": method, "Arguments": arguments}),
    );
    assert_eq!(r["HRESULT"], 0, "{method} {arguments}: {r}");
    r
}

/// `Get-CimInstance` of the configuration class: its properties.
fn properties(inst: &Instance) -> Value {
    let r = socket_call(
        inst,
        json!({"Op": "GetProperties", "Class": "MSReportServer_ConfigurationSetting"}),
    );
    assert_eq!(r["HRESULT"], 0, "{r}");
    r
}

/// `$rsWmiObject.Method(a, b, c)` through `reportctl wmi METHOD a b c --json`: exit 0
/// exactly when HRESULT is 0.
fn rst_invoke(inst: &Instance, args: &[&str]) -> Value {
    let mut a = vec!["wmi"];
    a.extend_from_slice(args);
    a.push("--json");
    let out = inst.ok(&a);
    let r: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(r["HRESULT"], 0, "{args:?}: {r}");
    r
}

/// An instance whose server runs in the background (`reportctl start`, as a service runs:
/// `restart` must be able to see it exit), stopped when dropped.
struct Server {
    inst: Instance,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.inst.ctl(&["stop"]);
    }
}

/// `Restart-SqlDscRSService` / RST's service restart: `reportctl restart`, which hands the
/// test's sockets on to the new server.
fn restart(inst: &Instance, sockets: &Sockets) {
    let o = inst.ctl_with(sockets, &["restart"]);
    assert!(
        o.status.success(),
        "restart: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    inst.wait_running();
}

fn fresh(sockets: &Sockets, admin_pw: &str) -> Server {
    let inst = Instance::new();
    let pw = inst.file("admin.pw", format!("{admin_pw}\n").as_bytes());
    inst.ok(&[
        "init",
        "--http-port",
        &sockets.port(0).to_string(),
        "--admin-user",
        "admin",
        "--admin-password-file",
        pw.to_str().unwrap(),
    ]);
    let o = inst.ctl_with(sockets, &["start"]);
    assert!(
        o.status.success(),
        "start: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    inst.wait_running();
    Server { inst }
}

#[test]
fn dsc_sqlrs_set_on_a_fresh_instance_named_arguments() {
    if !tools_ready() {
        return;
    }
    let sockets = Sockets::new(2);
    let (http, https) = (sockets.port(0), sockets.port(1));
    let srv = fresh(&sockets, "dsc admin pass 1");
    let inst = &srv.inst;
    let dbname = unique("ReportServer$RS1");
    let _dbs = Databases(vec![dbname.clone()]);
    let lcid = 1033; // Win32_OperatingSystem.OSLanguage

    // Get-SqlDscRSConfiguration: a fresh instance is not initialized.
    let p = properties(inst);
    assert_eq!(p["IsInitialized"], false, "{p}");
    assert!(p["InstallationID"].as_str().unwrap().len() >= 32, "{p}");

    // Set-SqlDscRSVirtualDirectory, Add-SqlDscRSUrlReservation for both applications.
    let url = format!("http://+:{http}");
    for (app, vdir) in [
        ("ReportServerWebService", "ReportServer_RS1"),
        ("ReportServerWebApp", "Reports_RS1"),
    ] {
        dsc_invoke(
            inst,
            "SetVirtualDirectory",
            json!({"Application": app, "VirtualDirectory": vdir, "Lcid": lcid}),
        );
        dsc_invoke(
            inst,
            "ReserveUrl",
            json!({"Application": app, "UrlString": url, "Lcid": lcid}),
        );
    }

    // Request-SqlDscRSDatabaseScript, Request-SqlDscRSDatabaseRightsScript, run on master.
    let create = dsc_invoke(
        inst,
        "GenerateDatabaseCreationScript",
        json!({"DatabaseName": dbname, "IsSharePointMode": false, "Lcid": lcid}),
    );
    let account = properties(inst)["WindowsServiceIdentityActual"]
        .as_str()
        .unwrap()
        .to_owned();
    let rights = dsc_invoke(
        inst,
        "GenerateDatabaseRightsScript",
        json!({"DatabaseName": dbname, "UserName": account, "IsRemote": false, "IsWindowsUser": true}),
    );
    psql_script(create["Script"].as_str().unwrap());
    psql_script(rights["Script"].as_str().unwrap());

    // Set-SqlDscRSDatabaseConnection -Type ServiceAccount (no credentials).
    dsc_invoke(
        inst,
        "SetDatabaseConnection",
        json!({"Server": "127.0.0.1", "DatabaseName": dbname, "Username": "",
               "Password": "", "CredentialsType": 2}),
    );
    restart(inst, &sockets);
    let p = properties(inst);
    // Initialized after the restart, so DSC skips InitializeReportServer; Initialize-Rs
    // (RST) calls it anyway, which must succeed on an initialized instance.
    assert_eq!(p["IsInitialized"], true, "{p}");
    assert_eq!(p["DatabaseName"], dbname.as_str(), "{p}");
    dsc_invoke(
        inst,
        "InitializeReportServer",
        json!({"InstallationId": p["InstallationID"]}),
    );

    // Add-SqlDscRSUrlReservation https + Add-SqlDscRSSslCertificateBinding (hash lower-cased).
    inst.ok(&["cert", "new-self-signed", "--dns-name", "localhost"]);
    let certs = dsc_invoke(inst, "ListSSLCertificates", json!({}));
    assert_eq!(certs["Length"], 1, "{certs}");
    let hash = certs["CertificateHash"][0]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    dsc_invoke(
        inst,
        "ReserveUrl",
        json!({"Application": "ReportServerWebService", "UrlString": format!("https://+:{https}"), "Lcid": lcid}),
    );
    dsc_invoke(
        inst,
        "CreateSSLCertificateBinding",
        json!({"Application": "ReportServerWebService", "CertificateHash": hash,
               "IPAddress": "0.0.0.0", "Port": https, "Lcid": lcid}),
    );
    let b = dsc_invoke(inst, "ListSSLCertificateBindings", json!({"Lcid": lcid}));
    assert_eq!(b["CertificateHash"], json!([hash]), "{b}");
    assert_eq!(b["Port"], json!([https]), "{b}");
    // Enable-SqlDscRsSecureConnection, then the final restart.
    dsc_invoke(inst, "SetSecureConnectionLevel", json!({"Level": 1}));
    restart(inst, &sockets);
    let p = properties(inst);
    assert_eq!(p["SecureConnectionLevel"], 1, "{p}");
    assert_eq!(p["VirtualDirectoryReportServer"], "ReportServer_RS1", "{p}");
    assert_eq!(p["VirtualDirectoryReportManager"], "Reports_RS1", "{p}");

    // Outside view: the scripts made a reportd catalog owned by the service account.
    assert_eq!(
        psql_query(&dbname, "SELECT MAX(version) FROM reportd_schema"),
        catalog::SCHEMA_VERSION.to_string()
    );
    assert_eq!(
        psql_query(
            &dbname,
            "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ),
        account
    );
    // openssl sees the bound certificate; curl gets the Web Service on its new vdir.
    assert_eq!(
        served(https, "localhost")
            .expect("a certificate")
            .to_ascii_lowercase(),
        hash
    );
    let admin = Some("admin:dsc admin pass 1");
    let r = curl(
        &format!("https://localhost:{https}/ReportServer_RS1"),
        admin,
        &["-k"],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let r = curl(
        &format!("https://localhost:{https}/ReportServer"),
        admin,
        &["-k"],
    );
    // HTTP.sys's answer for a URL no reservation matches.
    assert_eq!(r.status, 400, "the old vdir is gone: {r:?}");
    assert!(r.body.contains("No URL reservation"), "{r:?}");
    // SecureConnectionLevel 1: plain http is sent to https.
    let r = curl(
        &format!("http://localhost:{http}/ReportServer_RS1"),
        None,
        &[],
    );
    assert!(
        (300..400).contains(&r.status) && r.headers.to_ascii_lowercase().contains("https://"),
        "{r:?}"
    );
    // Get-SqlDscRSUrl: the Instance class lists the URLs a browser can open.
    let urls = socket_call(
        inst,
        json!({"Op": "Invoke", "Class": "MSReportServer_Instance", "Method": "getreportserverurls"}),
    );
    assert_eq!(urls["HRESULT"], 0, "{urls}");
    assert!(
        urls["URLs"].as_array().unwrap().contains(&json!(format!(
            "https://localhost:{https}/ReportServer_RS1"
        ))),
        "{urls}"
    );

    // Named and positional forms bind the same; errors carry SSRS codes.
    let r = socket_call(
        inst,
        json!({"Op": "Invoke", "Method": "RESERVEURL",
               "Args": ["ReportServerWebApp", format!("http://+:{http}"), lcid]}),
    );
    assert_eq!(
        r["HRESULT"], 0,
        "already reserved for the same application: {r}"
    );
    let r = socket_call(
        inst,
        json!({"Op": "Invoke", "Method": "CreateSSLCertificateBinding",
               "Arguments": {"Application": "ReportServerWebService",
                             "CertificateHash": "00".repeat(20), "IPAddress": "0.0.0.0",
                             "Port": https, "Lcid": lcid}}),
    );
    assert_eq!(
        r["HRESULT"], 0x8009_2004_u32 as i32,
        "unknown certificate: {r}"
    );
    assert!(
        r["Error"].as_str().unwrap().contains("no certificate"),
        "{r}"
    );
    let r = socket_call(
        inst,
        json!({"Op": "Invoke", "Method": "SetEmailConfiguration",
               "Arguments": {"SendUsingSMTPServer": true, "SMTPServer": "mail", "SenderEmailAddress": "a@b"}}),
    );
    assert_eq!(r["HRESULT"], 0x8000_4001_u32 as i32, "E_NOTIMPL: {r}");
}

#[test]
fn rst_url_reservation_database_and_key_backup_restore_positional() {
    if !tools_ready() {
        return;
    }
    let sockets = Sockets::new(1);
    let port = sockets.port(0);
    let srv = fresh(&sockets, "rst admin pass 1");
    let inst = &srv.inst;
    let name = unique("ReportServerRst");
    let _dbs = Databases(vec![name.clone()]);

    // Set-RsUrlReservation -ReportServerVirtualDirectory RS2 -PortalVirtualDirectory Portal2
    // -ListeningPort PORT: SetVirtualDirectory then ReserveURL, for each application.
    let url = format!("http://+:{port}");
    for (app, vdir) in [
        ("ReportServerWebService", "RS2"),
        ("ReportServerWebApp", "Portal2"),
    ] {
        rst_invoke(inst, &["SetVirtualDirectory", app, vdir, "1033"]);
        rst_invoke(inst, &["ReserveURL", app, &url, "1033"]);
    }

    // Set-RsDatabase -DatabaseCredentialType ServiceAccount: creation script (1033, false),
    // rights script (username, name, IsRemote false, isWindowsAccount true), run both, then
    // SetDatabaseConnection(server, name, 2, username, '').
    let create = rst_invoke(
        inst,
        &["GenerateDatabaseCreationScript", &name, "1033", "false"],
    );
    psql_script(create["Script"].as_str().unwrap());
    let props: Value = serde_json::from_str(&inst.ok(&["wmi", "properties", "--json"])).unwrap();
    let username = props["WindowsServiceIdentityActual"].as_str().unwrap();
    let rights = rst_invoke(
        inst,
        &[
            "GenerateDatabaseRightsScript",
            username,
            &name,
            "false",
            "true",
        ],
    );
    psql_script(rights["Script"].as_str().unwrap());
    rst_invoke(
        inst,
        &[
            "SetDatabaseConnection",
            "127.0.0.1,5432",
            &name,
            "2",
            username,
            "",
        ],
    );
    let admin = Some("admin:rst admin pass 1");
    let r = curl(&format!("http://localhost:{port}/RS2"), admin, &[]);
    assert_eq!(
        r.status, 200,
        "served live after SetDatabaseConnection: {r:?}"
    );

    // Backup-RsEncryptionKey: BackupEncryptionKey(password) → KeyFile bytes written to a file.
    let check = props["KeyCheckValue"].as_str().unwrap().to_owned();
    let backup = rst_invoke(inst, &["BackupEncryptionKey", "key backup pw 1"]);
    let bytes = base64_decode(backup["KeyFile"].as_str().unwrap());
    assert_eq!(backup["Length"], bytes.len());
    let keyfile = inst.file("rs.snk", &bytes);

    // A new key (New-SqlDscRSEncryptionKey), then Restore-RsEncryptionKey:
    // RestoreEncryptionKey(keyBytes, keyBytes.Length, password), then the service restart.
    rst_invoke(inst, &["ReencryptSecureInformation"]);
    let rotated: Value = serde_json::from_str(&inst.ok(&["wmi", "properties", "--json"])).unwrap();
    assert_ne!(rotated["KeyCheckValue"], check.as_str());
    let at_file = format!("@{}", keyfile.display());
    let wrong = inst.ctl(&[
        "wmi",
        "RestoreEncryptionKey",
        &at_file,
        &bytes.len().to_string(),
        "wrong password 1",
        "--json",
    ]);
    assert_eq!(wrong.status.code(), Some(1), "a wrong password fails");
    let w: Value = serde_json::from_slice(&wrong.stdout).unwrap();
    assert_eq!(w["HRESULT"], 0x8009_0005_u32 as i32, "{w}");
    assert!(!w["ExtendedErrors"].as_array().unwrap().is_empty(), "{w}");
    rst_invoke(
        inst,
        &[
            "RestoreEncryptionKey",
            &at_file,
            &bytes.len().to_string(),
            "key backup pw 1",
        ],
    );
    restart(inst, &sockets);
    let after: Value = serde_json::from_str(&inst.ok(&["wmi", "properties", "--json"])).unwrap();
    assert_eq!(
        after["KeyCheckValue"],
        check.as_str(),
        "the backed-up key is back"
    );
    let r = curl(&format!("http://localhost:{port}/RS2"), admin, &[]);
    assert_eq!(r.status, 200, "{r:?}");
    let r = curl(&format!("http://localhost:{port}/Portal2/"), admin, &["-L"]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        psql_query(&name, "SELECT count(*) FROM reportd_schema"),
        catalog::SCHEMA_VERSION.to_string()
    );

    // The same calls by name through reportctl (ReserveUrl spelled as DSC does).
    rst_invoke(
        inst,
        &[
            "reserveurl",
            "application=ReportServerWebService",
            &format!("URLSTRING={url}"),
            "Lcid=1033",
        ],
    );
    // reportctl keys: backup/restore round trip. Since the restart the node is the first
    // of its PostgreSQL database: the key backed up is the cluster key it created then.
    let pwf = inst.file("k.pw", b"cli key pw 12\n");
    let kf = inst.tmp.path().join("cli.snk");
    let backed: Value = serde_json::from_str(&inst.ok(&[
        "keys",
        "backup",
        "--file",
        kf.to_str().unwrap(),
        "--password-file",
        pwf.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    let check = backed["key_check_value"].as_str().unwrap().to_owned();
    let out = inst.ok(&[
        "keys",
        "restore",
        "--file",
        kf.to_str().unwrap(),
        "--password-file",
        pwf.to_str().unwrap(),
    ]);
    assert!(out.contains(&check), "{out}");
    let e = inst.fails(&[
        "keys",
        "backup",
        "--file",
        kf.to_str().unwrap(),
        "--password-file",
        pwf.to_str().unwrap(),
    ]);
    assert!(e.contains("--force"), "{e}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    let o = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(o.status.success());
    o.stdout
}
