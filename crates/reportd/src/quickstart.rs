//! `reportd quickstart`: from nothing to a running server in one command.
//!
//! On a data dir that is not initialized it creates one — configuration, a SQLite catalog,
//! an administrator `admin` (generated password printed once, or from a file), sample
//! content — then serves it. On an existing data dir it just serves.

use std::path::PathBuf;

use anyhow::Context;
use catalog::{ItemPath, ItemType, NewItem};
use datadir::DataDir;
use rand::Rng;
use zeroize::Zeroizing;

use crate::ctl::init::{InitOptions, init_instance};

/// quickstart's options.
#[derive(Debug, Clone)]
pub struct QuickstartOptions {
    pub http_port: u16,
    pub https_port: u16,
    pub admin_password_file: Option<PathBuf>,
}

/// The administrator quickstart creates.
pub const ADMIN: &str = "admin";

const SAMPLES: &[(&str, ItemType, &[u8], Option<&str>)] = &[
    ("Welcome", ItemType::Report, include_bytes!("../samples/Welcome.rdl"), None),
    ("Inline", ItemType::DataSource, include_bytes!("../samples/Inline.rds"), None),
    ("README.txt", ItemType::Resource, include_bytes!("../samples/README.txt"), Some("text/plain")),
];

/// Creates the instance if needed; returns the lines to print once the server listens.
pub async fn prepare(dd: &DataDir, opts: &QuickstartOptions) -> anyhow::Result<Vec<String>> {
    let mut banner = Vec::new();
    if !dd.is_initialized() {
        let (password, generated) = match &opts.admin_password_file {
            Some(f) => (datadir::read_password_file(f).context("--admin-password-file")?, false),
            None => (generate_password(), true),
        };
        let init = InitOptions {
            http_port: opts.http_port,
            admin: Some((ADMIN.to_owned(), password.clone())),
            owner: "quickstart",
        };
        let dd2 = dd.clone();
        tokio::task::spawn_blocking(move || init_instance(&dd2, &init)).await??;
        let dd2 = dd.clone();
        let summary = tokio::task::spawn_blocking(move || {
            crate::ctl::database::create_database(&dd2, "sqlite:catalog.db")
        })
        .await??;
        tracing::info!("{}", summary.replace('\n', "; "));
        add_samples(dd).await?;
        banner.push(format!("Created a new report server in {}", dd.root().display()));
        if generated {
            banner.push(format!("Administrator: {ADMIN}"));
            banner.push(format!("Password: {} (shown once; keep it)", password.as_str()));
        } else {
            banner.push(format!("Administrator: {ADMIN} (password from --admin-password-file)"));
        }
    }
    let repo = httpsys::Repository::load(dd)?;
    for (app, url) in repo.full_urls() {
        let browse = url.replace("://+:", "://localhost:").replace("://*:", "://localhost:");
        let label = match app {
            httpsys::Application::WebService => "Web Service URL",
            httpsys::Application::Portal => "Web Portal URL",
        };
        banner.push(format!("{label}: {browse}"));
    }
    Ok(banner)
}

async fn add_samples(dd: &DataDir) -> anyhow::Result<()> {
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
    Ok(())
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
