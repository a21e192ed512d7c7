//! `reportd quickstart`: from nothing to a running server in one command.
//!
//! On a data dir that is not initialized it creates one — configuration, a SQLite catalog,
//! an administrator `admin` (generated password printed once, or from a file), sample
//! content, a self-signed certificate bound to the https port for both applications,
//! SecureConnectionLevel 1 — as one operation that commits once (`mgmt::instance::Staged`:
//! built beside the data dir, the ports checked first, nothing left on failure), then
//! serves it ([`run`]). On an existing data dir it just serves, refusing port flags the
//! instance does not serve.

use std::path::PathBuf;

use anyhow::Context;
use catalog::{ItemPath, ItemType, NewItem};
use datadir::DataDir;
use rand::Rng;
use zeroize::Zeroizing;

use crate::ctl::init::{InitOptions, init_instance};

/// quickstart's options. A port left out is 8080 (http) / 8443 (https) for a new
/// instance, and whatever an existing instance reserves.
#[derive(Debug, Clone)]
pub struct QuickstartOptions {
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    pub admin_password_file: Option<PathBuf>,
}

/// Ports of a new instance when no flag names them.
pub const DEFAULT_HTTP_PORT: u16 = 8080;
pub const DEFAULT_HTTPS_PORT: u16 = 8443;

/// quickstart, all or nothing: makes the instance if the data dir has none ([`prepare`]),
/// then serves it. A new instance that fails before it serves — a port taken, a step that
/// fails — is removed again (what it created, nothing else), so a second try starts
/// afresh; its administrator password is printed only once the server listens.
pub async fn run(dd: DataDir, opts: QuickstartOptions) -> anyhow::Result<()> {
    let undo = if dd.is_initialized() {
        None
    } else {
        Some(Created::before(&dd))
    };
    let banner = match prepare(&dd, &opts).await {
        Ok(b) => b,
        Err(e) => {
            if let Some(u) = undo {
                u.remove(&dd);
            }
            return Err(e);
        }
    };
    let serving = std::sync::atomic::AtomicBool::new(false);
    let r = crate::serve::run_reporting(dd.clone(), banner, Some(&serving)).await;
    if r.is_err()
        && !serving.load(std::sync::atomic::Ordering::SeqCst)
        && let Some(u) = undo
    {
        u.remove(&dd);
    }
    r
}

/// What the data dir held before quickstart made an instance in it, to take the instance
/// out again on failure without touching anything that was there.
struct Created {
    existed: bool,
    entries: std::collections::BTreeSet<std::ffi::OsString>,
}

impl Created {
    fn before(dd: &DataDir) -> Created {
        let entries = std::fs::read_dir(dd.root())
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
            .unwrap_or_default();
        Created {
            existed: dd.root().exists(),
            entries,
        }
    }

    fn remove(self, dd: &DataDir) {
        let root = dd.root();
        if !self.existed && !root.exists() {
            // Nothing was made (a new instance is staged beside it until it commits).
            return;
        }
        if !self.existed {
            if let Err(e) = std::fs::remove_dir_all(root) {
                tracing::warn!("could not remove the half-made {}: {e}", root.display());
            }
            return;
        }
        let Ok(rd) = std::fs::read_dir(root) else {
            return;
        };
        for e in rd.filter_map(Result::ok) {
            if self.entries.contains(&e.file_name()) {
                continue;
            }
            let p = e.path();
            let r = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            if let Err(err) = r {
                tracing::warn!("could not remove {}: {err}", p.display());
            }
        }
    }
}

/// Refuses port flags an existing instance does not serve: quickstart does not change an
/// instance, so a flag that would be ignored is an error naming what to do.
fn check_existing_ports(dd: &DataDir, opts: &QuickstartOptions) -> anyhow::Result<()> {
    let repo = httpsys::Repository::load(dd)?;
    for (flag, scheme, port) in [
        ("--http-port", httpsys::Scheme::Http, opts.http_port),
        ("--https-port", httpsys::Scheme::Https, opts.https_port),
    ] {
        let Some(port) = port else { continue };
        let mut have: Vec<u16> = repo
            .reservations
            .iter()
            .filter(|r| r.url.scheme == scheme)
            .map(|r| r.url.port)
            .collect();
        have.sort_unstable();
        have.dedup();
        if have.contains(&port) {
            continue;
        }
        let now = if have.is_empty() {
            format!("reserves no {} port", scheme.as_str())
        } else {
            let list: Vec<String> = have.iter().map(u16::to_string).collect();
            format!("serves {} on port {}", scheme.as_str(), list.join(", "))
        };
        anyhow::bail!(
            "{} is an existing instance that {now}; quickstart does not change an instance, so {flag} {port} \
             would be ignored: leave the flag out, change the instance with `reportctl --data-dir {} url reserve ...` \
             (or `webservice https --cert ... --port {port}`), or use a new --data-dir",
            dd.root().display(),
            dd.root().display()
        );
    }
    Ok(())
}

/// A new instance's ports: both free (or handed in as sockets) before anything is made.
fn check_new_ports(http: u16, https: u16) -> anyhow::Result<()> {
    if http == 0 || https == 0 {
        anyhow::bail!("ports must be from 1 to 65535; nothing was created");
    }
    if http == https {
        anyhow::bail!(
            "--http-port and --https-port are both {http}; one port serves one scheme: choose two ports; nothing was created"
        );
    }
    for (flag, port) in [("--https-port", https), ("--http-port", http)] {
        httpsys::listener::check_port_free(port).with_context(|| {
            format!("{flag} {port}: nothing was created; pass {flag} PORT for a free one")
        })?;
    }
    Ok(())
}

/// The administrator quickstart creates.
pub const ADMIN: &str = "admin";

const SAMPLES: &[(&str, ItemType, &[u8], Option<&str>)] = &[
    (
        "Sales Table",
        ItemType::Report,
        include_bytes!("../samples/Sales Table.rdl"),
        None,
    ),
    (
        "Sales Matrix",
        ItemType::Report,
        include_bytes!("../samples/Sales Matrix.rdl"),
        None,
    ),
    (
        "Orders by Customer",
        ItemType::Report,
        include_bytes!("../samples/Orders by Customer.rdl"),
        None,
    ),
    (
        "Customers",
        ItemType::Report,
        include_bytes!("../samples/Customers.rdl"),
        None,
    ),
    (
        "Customer Orders",
        ItemType::Report,
        include_bytes!("../samples/Customer Orders.rdl"),
        None,
    ),
    (
        "Inline",
        ItemType::DataSource,
        include_bytes!("../samples/Inline.rds"),
        None,
    ),
    (
        "README.txt",
        ItemType::Resource,
        include_bytes!("../samples/README.txt"),
        Some("text/plain"),
    ),
];

/// The shared data source of the SQLite samples; `{{DATA_DIR}}` becomes the data dir.
const SAMPLE_ORDERS_RDS: &str = include_str!("../samples/Sample Orders.rds");

/// Creates the instance if needed; returns the lines to print once the server listens.
pub async fn prepare(dd: &DataDir, opts: &QuickstartOptions) -> anyhow::Result<Vec<String>> {
    let mut banner = Vec::new();
    if dd.is_initialized() {
        check_existing_ports(dd, opts)?;
    } else {
        let http_port = opts.http_port.unwrap_or(DEFAULT_HTTP_PORT);
        let https_port = opts.https_port.unwrap_or(DEFAULT_HTTPS_PORT);
        check_new_ports(http_port, https_port)?;
        let (password, generated) = match &opts.admin_password_file {
            Some(f) => (
                datadir::read_password_file(f).context("--admin-password-file")?,
                false,
            ),
            None => (generate_password(), true),
        };
        let init = InitOptions {
            http_port,
            admin: Some((ADMIN.to_owned(), password.clone())),
            owner: "quickstart",
        };
        // One operation, one commit: the whole instance is built beside the data dir and
        // appears with the last step; a failure before it leaves nothing.
        let staged = mgmt::instance::Staged::new(dd)?;
        let sd = staged.data_dir();
        // Paths written into files are those of the data dir, where the instance will live.
        let data = sample_data_dir(dd)?;
        let sd2 = sd.clone();
        tokio::task::spawn_blocking(move || init_instance(&sd2, &init)).await??;
        let sd2 = sd.clone();
        let (summary, _) = tokio::task::spawn_blocking(move || {
            crate::ctl::database::create_database(
                &sd2,
                "sqlite:catalog.db",
                &crate::ctl::database::CreateOptions::default(),
            )
        })
        .await??;
        tracing::info!("{}", summary.replace('\n', "; "));
        crate::sampledb::create(&sample_data_dir(&sd)?.join("samples.db")).await?;
        add_samples(&sd, &data).await?;
        let (sd2, data2) = (sd.clone(), data.clone());
        let thumb = tokio::task::spawn_blocking(move || secure(&sd2, https_port, &data2)).await??;
        tokio::task::spawn_blocking(move || staged.commit()).await??;
        banner.push(format!(
            "Created a new report server in {}",
            dd.root().display()
        ));
        banner.push(format!("Certificate: {thumb} (self-signed, for localhost)"));
        if generated {
            banner.push(format!("Administrator: {ADMIN}"));
            banner.push(format!(
                "Password: {} (shown once; keep it)",
                password.as_str()
            ));
        } else {
            banner.push(format!(
                "Administrator: {ADMIN} (password from --admin-password-file)"
            ));
        }
    }
    let repo = httpsys::Repository::load(dd)?;
    let secure = dd.load_config()?.settings.secure_connection_level >= 1;
    let has_https = repo
        .reservations
        .iter()
        .any(|r| r.url.scheme == httpsys::Scheme::Https);
    // https first; http is only a redirect when SecureConnectionLevel says so.
    let mut reservations: Vec<_> = repo.reservations.iter().collect();
    reservations.sort_by_key(|r| (r.url.scheme != httpsys::Scheme::Https, r.app));
    for r in reservations {
        let label = match r.app {
            httpsys::Application::WebService => "Web Service URL",
            httpsys::Application::Portal => "Web Portal URL",
        };
        let note = if secure && has_https && r.url.scheme == httpsys::Scheme::Http {
            " (redirects to https)"
        } else {
            ""
        };
        let url = crate::ctl::ssl::browse_url(&r.url, repo.vdir(r.app));
        banner.push(format!("{label}: {url}{note}"));
    }
    let pem = dd.trust_pem_path();
    let https_port = repo
        .reservations
        .iter()
        .find(|r| r.url.scheme == httpsys::Scheme::Https)
        .map(|r| r.url.port);
    if pem.exists()
        && let Some(port) = https_port
    {
        banner.push(format!("Trust: {}", pem.display()));
        banner.push(format!(
            "  e.g. curl --cacert {} -u {ADMIN} https://localhost:{port}/ReportServer",
            pem.display(),
        ));
    }
    Ok(banner)
}

/// Makes the new instance https-first: a self-signed certificate for localhost, 127.0.0.1,
/// ::1 and the host name, exported as PEM for clients to trust; `https://+:PORT` for both
/// applications bound to it on every address; SecureConnectionLevel 1 (http redirects).
fn secure(
    dd: &DataDir,
    https_port: u16,
    data: &std::path::Path,
) -> anyhow::Result<certstore::Thumbprint> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if let Ok(h) = nix::unistd::gethostname()
        && let Some(h) = h.to_str()
        && !h.is_empty()
        && h != "localhost"
    {
        names.push(h.to_owned());
    }
    let store = certstore::CertStore::open(&dd.certs_dir())?;
    let mut opts = certstore::SelfSignedOptions::new(names);
    opts.friendly_name = Some("reportd quickstart".into());
    let thumb = store.new_self_signed(&opts)?;
    datadir::atomic_write(
        &dd.trust_pem_path(),
        store.export_pem(&thumb)?.as_bytes(),
        0o644,
    )?;
    let url: httpsys::UrlReservation = format!("https://+:{https_port}").parse()?;
    let endpoint = httpsys::Endpoint::IpPort(std::net::Ipv4Addr::UNSPECIFIED.into(), https_port);
    // Both applications reserve and bind the https port in one commit.
    mgmt::ops::change_repository(dd, |r| {
        mgmt::ops::check_certificate(dd, &thumb, &endpoint)?;
        for app in httpsys::Application::ALL {
            r.reserve(app, url.clone(), "quickstart")?;
        }
        for app in httpsys::Application::ALL {
            // The default policy: no HSTS for a self-signed localhost certificate.
            r.bind_ssl(app, endpoint.clone(), &thumb.to_string(), None)?;
        }
        Ok(())
    })?;
    let _lock = dd.lock()?;
    let mut cfg = dd.load_config()?;
    cfg.settings.set("SecureConnectionLevel", "1")?;
    // The SQLite samples read <data dir>/data/samples.db, and nothing else.
    cfg.settings
        .set("DataSourceDirectories", &data.display().to_string())?;
    let repo = httpsys::Repository::load(dd)?;
    datadir::Config::write(&dd.config_path(), &cfg.settings, &repo.repr())?;
    Ok(thumb)
}

/// The sample content, in the catalog of `dd`; `data` is the sample database's directory
/// where the instance will live.
async fn add_samples(dd: &DataDir, data: &std::path::Path) -> anyhow::Result<()> {
    let cat = crate::ctl::user::open_configured(dd).await?;
    let folder = ItemPath::parse("/Samples")?;
    cat.create_folder(&folder, "quickstart").await?;
    for (name, item_type, content, mime) in SAMPLES {
        cat.put_item(NewItem {
            path: &folder.join(name)?,
            item_type: *item_type,
            content,
            mime_type: *mime,
            description: "Sample content from reportd quickstart",
            by: "quickstart",
            overwrite: false,
        })
        .await?;
    }
    let rds = SAMPLE_ORDERS_RDS.replace("{{DATA_DIR}}", &xml_text(&data.display().to_string()));
    cat.put_item(NewItem {
        path: &folder.join("Sample Orders")?,
        item_type: ItemType::DataSource,
        content: rds.as_bytes(),
        mime_type: None,
        description: "The SQLite sample database of reportd quickstart",
        by: "quickstart",
        overwrite: false,
    })
    .await?;
    Ok(())
}

/// `<data dir>/data`, absolute: where the sample SQLite database lives.
fn sample_data_dir(dd: &DataDir) -> anyhow::Result<PathBuf> {
    Ok(std::path::absolute(dd.root())
        .context("the data dir's absolute path")?
        .join("data"))
}

/// `s` escaped as XML character data.
fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// 20 characters from an unambiguous alphabet: about 110 bits.
fn generate_password() -> Zeroizing<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    Zeroizing::new(
        (0..20)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect(),
    )
}
