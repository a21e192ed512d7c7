//! `reportctl cert ...`: the certificate store on the command line.
//!
//! Parses flags, reads the files named on the command line (certificates, keys, password
//! files), calls [`certstore::CertStore`] and prints the result: human-readable lines by
//! default, JSON with `--json`. It holds no certificate logic of its own and never prints
//! key material or passwords.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use certstore::{
    CertInfo, CertStore, ImportOutcome, KeyType, RequestOptions, SelfSignedOptions, StoreName,
    Thumbprint, TrustOutcome, TrustTarget,
};
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use super::Ctx;

/// Environment variable for `--update-command` of `cert trust|untrust`.
const TRUST_UPDATE_ENV: &str = "REPORTD_TRUST_UPDATE_COMMAND";

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Create a self-signed server certificate and its key (New-SelfSignedCertificate).
    NewSelfSigned(NewSelfSignedArgs),
    /// List the certificates of a store.
    List {
        /// Store to list: My (server certificates), Root (trusted roots) or Cluster (the
        /// cluster's shared store, on a PostgreSQL catalog).
        #[arg(long, default_value = "My", value_name = "My|Root|Cluster")]
        store: StoreArg,
    },
    /// Show one certificate, one `Field: value` a line.
    Show {
        /// Thumbprint (SHA-1, 40 hex digits; case, spaces and colons do not matter).
        thumbprint: Thumbprint,
        /// Store to look in (default: My, then Root).
        #[arg(long, value_name = "My|Root")]
        store: Option<StoreName>,
    },
    /// Export a certificate: PFX with its key and chain, or the certificate alone as PEM.
    Export(ExportArgs),
    /// Import a certificate from a PFX, or from PEM/DER with an optional key.
    Import(ImportArgs),
    /// Make a certificate request (CSR) for a CA; its key stays pending in the store.
    Request(RequestArgs),
    /// Install the CA's answer to a request, paired with its pending key, into My.
    Complete {
        /// The answer: a certificate (PEM or DER), PEM with its chain, or PKCS#7 (.p7b).
        #[arg(long, value_name = "FILE")]
        response: PathBuf,
    },
    /// Delete a certificate and its key from a store.
    Remove {
        /// Thumbprint of the certificate.
        thumbprint: Thumbprint,
        /// Store to remove it from (needed only when it is in both My and Root; Cluster:
        /// the cluster's store, refused while a source renews that certificate).
        #[arg(long, value_name = "My|Root|Cluster")]
        store: Option<StoreArg>,
    },
    /// Add a Root certificate to the operating system's trust store (like `caddy trust`).
    Trust(TrustArgs),
    /// Remove a certificate from the operating system's trust store.
    Untrust(TrustArgs),
    /// Have the server follow a certificate and key file that another program renews
    /// (certbot's live/NAME/fullchain.pem and privkey.pem): re-read when they change.
    Watch(WatchArgs),
    /// Obtain a certificate from an ACME CA (HTTP-01 answered by the running server on its
    /// http URL reservation) and have the server renew it before it expires.
    Acme(AcmeArgs),
    /// Renew a certificate source now (ACME: a new order; watched: re-read the files).
    Renew {
        /// Source id (`reportctl cert sources`) or the thumbprint it installed.
        source: String,
        /// Seconds to wait for the server's answer.
        #[arg(long, default_value_t = 180, value_name = "N")]
        timeout: u64,
    },
    /// The certificate sources the server follows (ACME, watched files) and their state.
    Sources {
        /// Stop following this source (its certificate and bindings stay as they are).
        #[arg(long, value_name = "ID")]
        remove: Option<String>,
        /// Cluster: the cluster's sources (`cert acme --store Cluster`), in its database.
        #[arg(long, value_name = "My|Cluster")]
        store: Option<StoreArg>,
    },
}

/// `--bind APP ... --ipport IP:PORT | --hostnameport HOST:PORT`: bind the certificate.
#[derive(Debug, Args)]
pub struct BindArgs {
    /// Bind the certificate for this application (webservice or portal; repeat for both).
    #[arg(long = "bind", value_name = "APP")]
    bind: Vec<httpsys::Application>,
    /// Endpoint of the binding: IP:PORT (0.0.0.0:PORT means every address).
    #[arg(long, value_name = "IP:PORT", requires = "bind")]
    ipport: Option<String>,
    /// Endpoint of the binding chosen by SNI: HOST:PORT.
    #[arg(
        long,
        value_name = "HOST:PORT",
        requires = "bind",
        conflicts_with = "ipport"
    )]
    hostnameport: Option<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The certificate file, leaf first then its chain (certbot: live/NAME/fullchain.pem).
    #[arg(long, value_name = "FULLCHAIN")]
    cert: PathBuf,
    /// Its private key file (certbot: live/NAME/privkey.pem).
    #[arg(long, value_name = "PRIVKEY")]
    key: PathBuf,
    #[command(flatten)]
    bind: BindArgs,
}

#[derive(Debug, Args)]
pub struct AcmeArgs {
    /// Host name to put in the certificate (repeat for more); the CA must reach this
    /// server's http port at each name.
    #[arg(long = "dns-name", value_name = "NAME", required = true)]
    dns_names: Vec<String>,
    /// ACME directory URL of the CA.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://acme-v02.api.letsencrypt.org/directory"
    )]
    directory: String,
    /// PEM of a CA to trust for the ACME server's own https (a private or test CA).
    #[arg(long, value_name = "PEM")]
    directory_ca: Option<PathBuf>,
    /// Contact e-mail address for the ACME account.
    #[arg(long, value_name = "E")]
    email: Option<String>,
    /// How to prove control of the names: http-01 (a token on the http reservation's
    /// port, 80 for a public CA) or tls-alpn-01 (a certificate on the https port, 443).
    #[arg(long, default_value = "http-01", value_name = "http-01|tls-alpn-01")]
    challenge: acme::order::ChallengeKind,
    /// Seconds to wait for the server to obtain the certificate.
    #[arg(long, default_value_t = 180, value_name = "N")]
    timeout: u64,
    /// Where the certificate goes: My (this node, bound with --bind) or Cluster (every
    /// node's central-store bindings serve it; one node renews it at a time). Default:
    /// Cluster on a PostgreSQL catalog unless --bind is given, else My.
    #[arg(long, value_name = "My|Cluster")]
    store: Option<StoreArg>,
    #[command(flatten)]
    bind: BindArgs,
}

#[derive(Debug, Args)]
pub struct NewSelfSignedArgs {
    /// Host name or IP address the certificate is for (repeat for more; the first is the CN).
    #[arg(long = "dns-name", value_name = "NAME", required = true)]
    dns_names: Vec<String>,
    /// Friendly name shown by `cert list`.
    #[arg(long, value_name = "TEXT")]
    friendly_name: Option<String>,
    /// Validity in days.
    #[arg(long, default_value_t = 365, value_name = "N")]
    days: u32,
    /// Key algorithm: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096.
    #[arg(long, default_value = "ecdsa-p256", value_name = "TYPE")]
    key_type: KeyType,
    /// Store to create it in (Cluster: the cluster's shared store).
    #[arg(long, default_value = "My", value_name = "My|Root|Cluster")]
    store: StoreArg,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Thumbprint of the certificate (looked up in My, then Root).
    thumbprint: Thumbprint,
    /// Write a PKCS#12 file with the private key and chain (needs --password-file).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "pem",
        required_unless_present = "pem"
    )]
    pfx: Option<PathBuf>,
    /// Write the certificate alone, PEM.
    #[arg(long, value_name = "FILE")]
    pem: Option<PathBuf>,
    /// File whose first line is the PFX password.
    #[arg(long, value_name = "F")]
    password_file: Option<PathBuf>,
    /// 3DES/SHA-1 instead of AES-256, for Windows Server 2016 and older.
    #[arg(long, requires = "pfx")]
    legacy: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// PKCS#12 file (.pfx/.p12) to import (needs --password-file).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pem", "key"], required_unless_present = "pem")]
    pfx: Option<PathBuf>,
    /// Certificate file, PEM (optionally followed by its chain) or DER.
    #[arg(long, value_name = "CERT")]
    pem: Option<PathBuf>,
    /// Private key of the certificate: PKCS#8, PKCS#1 or SEC1, PEM or DER.
    #[arg(long, value_name = "KEY", requires = "pem")]
    key: Option<PathBuf>,
    /// File whose first line is the PFX password.
    #[arg(long, value_name = "F")]
    password_file: Option<PathBuf>,
    /// Store to import into (Cluster: the cluster's shared store).
    #[arg(long, default_value = "My", value_name = "My|Root|Cluster")]
    store: StoreArg,
    /// Friendly name to give the certificate (replaces one from the PFX).
    #[arg(long, value_name = "TEXT")]
    friendly_name: Option<String>,
    /// Move every SSL binding of this certificate to the imported one, in the same
    /// operation (a renewal, e.g. from a certbot deploy hook).
    #[arg(long, value_name = "THUMBPRINT")]
    replace: Option<Thumbprint>,
}

/// `--store`: a store of this data dir, or `Cluster` (rows in the cluster's PostgreSQL
/// catalog, keys sealed with the cluster key: `mgmt::certops::cluster_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreArg {
    Local(StoreName),
    Cluster,
}

impl std::str::FromStr for StoreArg {
    type Err = certstore::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("cluster") {
            return Ok(StoreArg::Cluster);
        }
        s.parse().map(StoreArg::Local)
    }
}

impl StoreArg {
    /// The local store; Cluster is refused with `what` (a command store Cluster lacks).
    fn local(self, what: &str) -> anyhow::Result<StoreName> {
        match self {
            StoreArg::Local(s) => Ok(s),
            StoreArg::Cluster => bail!("{what}"),
        }
    }
}

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// Host name or IP address to request (repeat for more).
    #[arg(long = "dns-name", value_name = "NAME", required = true)]
    dns_names: Vec<String>,
    /// Subject DN, e.g. "CN=reports.example.com,O=Example,C=US" (default CN=<first name>).
    #[arg(long, value_name = "DN")]
    subject: Option<String>,
    /// Where to write the request (PEM).
    #[arg(long, value_name = "FILE.csr")]
    out: PathBuf,
    /// Key algorithm: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096.
    #[arg(long, default_value = "ecdsa-p256", value_name = "TYPE")]
    key_type: KeyType,
    /// Friendly name for the certificate once the answer is installed.
    #[arg(long, value_name = "TEXT")]
    friendly_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Thumbprint of the certificate.
    thumbprint: Thumbprint,
    /// Trust directory (default /usr/local/share/ca-certificates, then update-ca-certificates
    /// runs). With a directory of your own, nothing runs unless --update-command is given.
    #[arg(long, env = certstore::TRUST_DIR_ENV, value_name = "DIR")]
    trust_dir: Option<PathBuf>,
    /// Command that rebuilds the trust bundle afterwards (split on spaces).
    #[arg(long, env = TRUST_UPDATE_ENV, value_name = "CMD")]
    update_command: Option<String>,
}

pub fn run(ctx: &Ctx, cmd: CertCommand) -> anyhow::Result<i32> {
    ctx.dd.create_dirs()?;
    let store = CertStore::open(&ctx.dd.certs_dir())?;
    match cmd {
        CertCommand::NewSelfSigned(a) => new_self_signed(ctx, &store, a),
        CertCommand::List { store: name } => list(ctx, &store, name),
        CertCommand::Show {
            thumbprint,
            store: name,
        } => {
            let name = store.locate(&thumbprint, name).or_else(|e| match name {
                // Without --store, a certificate in both stores is shown from My.
                None if store.contains(StoreName::My, &thumbprint) => Ok(StoreName::My),
                _ => Err(e),
            })?;
            let info = store.get(name, &thumbprint)?;
            if ctx.json {
                print_json(&info)?;
            } else {
                for line in info.show_lines() {
                    println!("{line}");
                }
            }
            Ok(0)
        }
        CertCommand::Export(a) => export(&store, a),
        CertCommand::Import(a) => import(ctx, &store, a),
        CertCommand::Request(a) => request(ctx, &store, a),
        CertCommand::Complete { response } => {
            let bytes = read_input(&response)?;
            let outcome = store.complete(&bytes).with_context(|| {
                format!("cannot complete the request with {}", response.display())
            })?;
            report_import(ctx, &outcome)
        }
        CertCommand::Remove {
            thumbprint,
            store: Some(StoreArg::Cluster),
        } => {
            mgmt::certops::cluster_remove(&ctx.dd, &thumbprint)?;
            if ctx.json {
                print_json(
                    &serde_json::json!({ "thumbprint": thumbprint, "store": "Cluster", "removed": true }),
                )?;
            } else {
                println!("Removed certificate {thumbprint} from store Cluster.");
            }
            Ok(0)
        }
        CertCommand::Remove {
            thumbprint,
            store: name,
        } => {
            let name = match name {
                Some(StoreArg::Local(n)) => Some(n),
                _ => None,
            };
            // Refused while an SSL binding uses it; the check and the removal happen under
            // the data-dir lock in one place, mgmt::ops.
            let name = store.locate(&thumbprint, name)?;
            mgmt::ops::remove_certificate(&ctx.dd, &thumbprint, name)?;
            if ctx.json {
                print_json(
                    &serde_json::json!({ "thumbprint": thumbprint, "store": name, "removed": true }),
                )?;
            } else {
                println!("Removed certificate {thumbprint} from store {name}.");
            }
            Ok(0)
        }
        CertCommand::Trust(a) => {
            let target = TrustTarget::resolve(a.trust_dir, a.update_command.as_deref());
            let outcome = store.trust(&a.thumbprint, &target)?;
            report_trust(ctx, &a.thumbprint, &outcome, true)
        }
        CertCommand::Untrust(a) => {
            let target = TrustTarget::resolve(a.trust_dir, a.update_command.as_deref());
            let outcome = store.untrust(&a.thumbprint, &target)?;
            report_trust(ctx, &a.thumbprint, &outcome, false)
        }
        CertCommand::Watch(a) => sources::watch(ctx, a),
        CertCommand::Acme(a) => sources::acme(ctx, a),
        CertCommand::Renew { source, timeout } => sources::renew(ctx, &source, timeout),
        CertCommand::Sources {
            remove,
            store: Some(StoreArg::Cluster),
        } => sources::list_cluster(ctx, remove.as_deref()),
        CertCommand::Sources { remove, .. } => sources::list(ctx, remove.as_deref()),
    }
}

fn new_self_signed(ctx: &Ctx, store: &CertStore, a: NewSelfSignedArgs) -> anyhow::Result<i32> {
    let mut opts = SelfSignedOptions {
        dns_names: a.dns_names,
        friendly_name: a.friendly_name,
        days: a.days,
        key_type: a.key_type,
        store: StoreName::My,
    };
    if a.store == StoreArg::Cluster {
        let added = mgmt::certops::cluster_new_self_signed(&ctx.dd, &opts)?;
        if ctx.json {
            print_json(&serde_json::json!({ "thumbprint": added.thumbprint, "store": "Cluster" }))?;
        } else {
            println!("{}", added.thumbprint);
        }
        return Ok(0);
    }
    opts.store = a.store.local("unreachable")?;
    let thumb = store.new_self_signed(&opts)?;
    if ctx.json {
        print_json(&serde_json::json!({ "thumbprint": thumb, "store": opts.store }))?;
    } else {
        // The thumbprint alone, so that scripts can write T=$(reportctl cert new-self-signed ...).
        println!("{thumb}");
    }
    Ok(0)
}

fn list(ctx: &Ctx, store: &CertStore, name: StoreArg) -> anyhow::Result<i32> {
    let (certs, name) = match name {
        StoreArg::Local(name) => (store.list(name)?, name.to_string()),
        StoreArg::Cluster => {
            let now = time::OffsetDateTime::now_utc();
            let rows = mgmt::certops::cluster_list(&ctx.dd)?;
            let mut certs = Vec::with_capacity(rows.len());
            for r in &rows {
                certs.push(certstore::cluster::describe(r, now)?);
            }
            (certs, "Cluster".to_owned())
        }
    };
    if ctx.json {
        // Each certificate as the store describes it, plus its days to expiry.
        let mut v = serde_json::to_value(&certs)?;
        if let Some(items) = v.as_array_mut() {
            for (item, c) in items.iter_mut().zip(&certs) {
                if let Some(o) = item.as_object_mut() {
                    o.insert("days_to_expiry".into(), days_to_expiry(c).into());
                    o.insert("store".into(), name.clone().into());
                }
            }
        }
        print_json(&v)?;
        return Ok(0);
    }
    if certs.is_empty() {
        println!("No certificates in store {name}.");
        return Ok(0);
    }
    let mut out = String::with_capacity(certs.len() * 160);
    out.push_str(&format!(
        "{:<40}  {:<3}  {:<10}  {}\n",
        "THUMBPRINT", "KEY", "EXPIRES", "SUBJECT (NAMES) \"FRIENDLY NAME\""
    ));
    for c in &certs {
        out.push_str(&list_line(c));
        out.push('\n');
    }
    print!("{out}");
    Ok(0)
}

/// Whole days until `c` expires (negative once it has): [`mgmt::ops::days_left`] now.
pub fn days_to_expiry(c: &CertInfo) -> i64 {
    mgmt::ops::days_left(c, std::time::SystemTime::now())
}

fn list_line(c: &CertInfo) -> String {
    let mut line = format!(
        "{}  {:<3}  {} ({})  {}",
        c.thumbprint,
        if c.has_private_key { "yes" } else { "no" },
        c.not_after.date(),
        mgmt::ops::expiry_text(days_to_expiry(c)),
        c.subject
    );
    if !c.sans.is_empty() {
        line.push_str(&format!(" ({})", c.sans_text()));
    }
    if let Some(f) = &c.friendly_name {
        line.push_str(&format!(" \"{f}\""));
    }
    for w in &c.warnings {
        line.push_str(&format!(" [{w}]"));
    }
    line
}

fn export(store: &CertStore, a: ExportArgs) -> anyhow::Result<i32> {
    if let Some(out) = &a.pfx {
        let pw_file = a.password_file.as_deref().context(
            "--password-file is required with --pfx: a file whose first line is the password that protects the PFX",
        )?;
        let password = read_password(pw_file)?;
        let bytes = store.export_pfx(&a.thumbprint, &password, a.legacy)?;
        // The PFX holds the private key: owner-only, like the store itself.
        datadir::atomic_write(out, &bytes, 0o600)
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!(
            "Exported {} with its private key to {} (PKCS#12, {}).",
            a.thumbprint,
            out.display(),
            if a.legacy {
                "3DES/SHA-1 legacy"
            } else {
                "AES-256"
            }
        );
    } else if let Some(out) = &a.pem {
        let text = store.export_pem(&a.thumbprint)?;
        datadir::atomic_write(out, text.as_bytes(), 0o644)
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!(
            "Exported certificate {} to {} (PEM).",
            a.thumbprint,
            out.display()
        );
    } else {
        bail!("say what to export: --pfx FILE --password-file F, or --pem FILE");
    }
    Ok(0)
}

fn import(ctx: &Ctx, store: &CertStore, a: ImportArgs) -> anyhow::Result<i32> {
    if a.store == StoreArg::Cluster {
        return import_cluster(ctx, a);
    }
    if a.replace.is_some() {
        return import_replace(ctx, store, a);
    }
    let target = a.store.local("unreachable")?;
    let (path, outcome) = with_import_input(&a, |input| match input {
        mgmt::certops::ImportInput::Pfx { bytes, password } => {
            store.import_pfx(bytes, password, target)
        }
        mgmt::certops::ImportInput::Pem { cert, key } => store.import_pem(cert, key, target),
    })?;
    let outcome = outcome.with_context(|| format!("cannot import {}", path.display()))?;
    if let Some(name) = &a.friendly_name {
        store.set_friendly_name(outcome.store, &outcome.thumbprint, Some(name))?;
    }
    report_import(ctx, &outcome)
}

/// `cert import --store Cluster`: the certificate with its key into the cluster's store;
/// every node's central-store bindings serve it from their next handshake.
fn import_cluster(ctx: &Ctx, a: ImportArgs) -> anyhow::Result<i32> {
    if a.replace.is_some() {
        bail!(
            "--replace moves SSL bindings of store My; store Cluster needs no rebinding (central-store bindings, `reportctl ssl add APP --ccs PORT`, choose the newest certificate for each name): import without --replace"
        );
    }
    let (path, added) = with_import_input(&a, |input| {
        mgmt::certops::cluster_import(&ctx.dd, input, a.friendly_name.clone())
    })?;
    let added = added.with_context(|| format!("cannot import {}", path.display()))?;
    if ctx.json {
        print_json(&serde_json::json!({
            "thumbprint": added.thumbprint,
            "store": "Cluster",
            "already_present": !added.added,
            "names": added.names,
        }))?;
    } else if added.added {
        println!(
            "Imported certificate {} into store Cluster with its private key (names: {}); every node serves it on its central-store bindings.",
            added.thumbprint,
            added.names.join(", ")
        );
    } else {
        println!(
            "Certificate {} is already in store Cluster; nothing changed.",
            added.thumbprint
        );
    }
    Ok(0)
}

/// `cert import ... --replace OLD`: import and move OLD's bindings, one operation.
fn import_replace(ctx: &Ctx, store: &CertStore, a: ImportArgs) -> anyhow::Result<i32> {
    use mgmt::certops::{Unbound, import_replace};
    let old = a.replace.as_ref();
    let target = a.store.local("unreachable")?;
    let (what, r) = with_import_input(&a, |input| {
        import_replace(&ctx.dd, input, target, old, Unbound::Refuse)
    })?;
    let r = r.with_context(|| {
        format!(
            "cannot import {} to replace {}",
            what.display(),
            a.replace
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default()
        )
    })?;
    if let Some(name) = &a.friendly_name {
        store.set_friendly_name(r.outcome.store, &r.outcome.thumbprint, Some(name))?;
    }
    if ctx.json {
        print_json(&serde_json::json!({
            "import": r.outcome,
            "rebound": r.rebound.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            "applied": r.applied.describe(),
        }))?;
        return Ok(0);
    }
    report_import(ctx, &r.outcome)?;
    if r.rebound.is_empty() {
        println!(
            "No binding used {}; nothing rebound.",
            a.replace
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default()
        );
    } else {
        println!(
            "Rebound {} from {} to {}; {}.",
            r.rebound
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            a.replace
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default(),
            r.outcome.thumbprint,
            r.applied.describe()
        );
    }
    Ok(0)
}

fn report_import(ctx: &Ctx, o: &ImportOutcome) -> anyhow::Result<i32> {
    if ctx.json {
        print_json(o)?;
    } else {
        let key = if o.has_private_key {
            "with its private key"
        } else {
            "without a private key"
        };
        if o.key_added {
            println!(
                "Certificate {} was already in store {}; added its private key.",
                o.thumbprint, o.store
            );
        } else if o.already_present {
            println!(
                "Certificate {} is already in store {}; nothing changed.",
                o.thumbprint, o.store
            );
        } else {
            println!(
                "Imported certificate {} into store {} {key}.",
                o.thumbprint, o.store
            );
        }
    }
    for w in &o.warnings {
        eprintln!("warning: {}: {w}", o.thumbprint);
    }
    Ok(0)
}

fn request(ctx: &Ctx, store: &CertStore, a: RequestArgs) -> anyhow::Result<i32> {
    // Fail on an unwritable destination before a key is made and left pending.
    let parent = match a.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        bail!(
            "cannot write {}: directory {} does not exist",
            a.out.display(),
            parent.display()
        );
    }
    let opts = RequestOptions {
        dns_names: a.dns_names,
        subject: a.subject,
        key_type: a.key_type,
        friendly_name: a.friendly_name,
    };
    let (pending, csr) = store.request(&opts)?;
    datadir::atomic_write(&a.out, csr.as_bytes(), 0o644)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    if ctx.json {
        print_json(&serde_json::json!({ "request": pending, "csr": a.out }))?;
    } else {
        println!(
            "Wrote certificate request {} for {} ({} key, pending in the store as request {}).",
            a.out.display(),
            pending.subject,
            pending.key_type,
            pending.id
        );
        println!(
            "Send it to your certificate authority, then install its answer: reportctl cert complete --response FILE"
        );
    }
    Ok(0)
}

fn report_trust(
    ctx: &Ctx,
    thumb: &Thumbprint,
    o: &TrustOutcome,
    trust: bool,
) -> anyhow::Result<i32> {
    if ctx.json {
        print_json(o)?;
        return Ok(0);
    }
    match (trust, o.changed) {
        (true, true) => println!("Trusted certificate {thumb}: wrote {}.", o.path.display()),
        (true, false) => println!(
            "Certificate {thumb} is already trusted ({}); nothing changed.",
            o.path.display()
        ),
        (false, true) => println!(
            "Untrusted certificate {thumb}: removed {}.",
            o.path.display()
        ),
        (false, false) => println!(
            "Certificate {thumb} is not in the trust store ({} does not exist); nothing changed.",
            o.path.display()
        ),
    }
    if let Some(out) = o.update_output.as_deref().filter(|s| !s.is_empty()) {
        println!("{out}");
    }
    Ok(0)
}

/// `cert watch|acme|renew|sources`: certificate sources the server follows.
mod sources {
    use std::time::{Duration, Instant};

    use acme::sources::{FileSources, Source, SourceKind};
    use anyhow::{Context, bail};
    use certstore::{StoreName, Thumbprint, WatchedPair};
    use httpsys::{Endpoint, Repository};
    use mgmt::ops::{self, PolicyFlags};

    use super::{AcmeArgs, BindArgs, Ctx, WatchArgs, print_json};

    /// Binds `thumb` as `--bind` asks: a new binding, or the endpoint's certificate replaced.
    fn bind(ctx: &Ctx, thumb: &Thumbprint, b: &BindArgs) -> anyhow::Result<Vec<String>> {
        if b.bind.is_empty() {
            return Ok(Vec::new());
        }
        let endpoint = match (&b.ipport, &b.hostnameport) {
            (Some(s), None) => Endpoint::parse_ipport(s)?,
            (None, Some(s)) => Endpoint::parse_hostnameport(s)?,
            _ => bail!("--bind needs the endpoint: --ipport IP:PORT or --hostnameport HOST:PORT"),
        };
        let mut lines = Vec::new();
        for app in &b.bind {
            let repo = Repository::load(&ctx.dd)?;
            let flags = PolicyFlags::default();
            let applied = match repo.binding(&endpoint) {
                Some(x)
                    if x.apps.contains(app)
                        && !x.thumbprint.eq_ignore_ascii_case(&thumb.to_string()) =>
                {
                    ops::ssl_update(&ctx.dd, *app, thumb, &endpoint, &flags)?.1
                }
                _ => ops::ssl_bind(&ctx.dd, *app, thumb, &endpoint, &flags)?.1,
            };
            lines.push(format!(
                "bound {thumb} to {endpoint} for {}; {}",
                app.ssrs_name(),
                applied.describe()
            ));
        }
        Ok(lines)
    }

    pub fn watch(ctx: &Ctx, a: WatchArgs) -> anyhow::Result<i32> {
        let cert =
            std::path::absolute(&a.cert).with_context(|| format!("--cert {}", a.cert.display()))?;
        let key =
            std::path::absolute(&a.key).with_context(|| format!("--key {}", a.key.display()))?;
        // The pair must be servable now; later changes are the server's to pick up.
        let pair = WatchedPair::read(&cert, &key).context("cannot watch the pair")?;
        let r = mgmt::certops::import_replace(
            &ctx.dd,
            mgmt::certops::ImportInput::Pem {
                cert: pair.cert_bytes(),
                key: Some(pair.key_bytes()),
            },
            StoreName::My,
            None,
            mgmt::certops::Unbound::Allow,
        )?;
        let thumb = r.outcome.thumbprint;
        let kind = SourceKind::Watch {
            cert: cert.clone(),
            key: key.clone(),
        };
        let reg = FileSources::new(ctx.dd.clone());
        let id = reg.update(|all| {
            if let Some(s) = all.iter_mut().find(|s| s.kind == kind) {
                s.thumbprint = Some(thumb.to_string());
                return Ok(s.id.clone());
            }
            let mut s = Source::new(kind.clone(), all);
            s.thumbprint = Some(thumb.to_string());
            let id = s.id.clone();
            all.push(s);
            Ok(id)
        })?;
        let lines = bind(ctx, &thumb, &a.bind)?;
        let applied = ops::apply(&ctx.dd)?;
        if ctx.json {
            print_json(
                &serde_json::json!({ "source": id, "thumbprint": thumb, "bindings": lines }),
            )?;
        } else {
            println!("{thumb}");
            eprintln!(
                "Watching {} and {} as certificate source {id} ({}): the server re-reads them when they change.",
                cert.display(),
                key.display(),
                applied.describe()
            );
            for l in lines {
                eprintln!("{l}");
            }
        }
        Ok(0)
    }

    pub fn acme(ctx: &Ctx, a: AcmeArgs) -> anyhow::Result<i32> {
        let cluster = match a.store {
            Some(super::StoreArg::Cluster) => true,
            Some(super::StoreArg::Local(StoreName::My)) => false,
            Some(super::StoreArg::Local(other)) => {
                bail!("--store {other}: ACME certificates go to store My or Cluster")
            }
            None => a.bind.bind.is_empty() && mgmt::certops::cluster_url(&ctx.dd).is_ok(),
        };
        if cluster {
            return acme_cluster(ctx, a);
        }
        validate_order(&a)?;
        if !ops::server_running(&ctx.dd) {
            bail!(
                "the server is not running: it answers the CA's HTTP-01 challenge on its http URL reservation; start it first (`reportctl start`)"
            );
        }
        let (names, kind) = acme_kind(&a)?;
        let reg = FileSources::new(ctx.dd.clone());
        let (id, before) = reg.update(|all| {
            // The same names from the same CA: that source, with the new options.
            let same = all.iter().position(|s| same_acme(s, &names, &a.directory));
            let i = match same {
                Some(i) => {
                    all[i].kind = kind.clone();
                    i
                }
                None => {
                    let s = Source::new(kind.clone(), all);
                    all.push(s);
                    all.len() - 1
                }
            };
            let s = &mut all[i];
            s.state.force = true;
            Ok((s.id.clone(), s.state.attempts))
        })?;
        ops::apply(&ctx.dd)?;
        let src = wait_attempt(&reg, &id, before, a.timeout)?;
        let thumb: Thumbprint = match (&src.state.last_error, &src.thumbprint) {
            (None, Some(t)) => t.parse()?,
            (Some(e), _) => bail!(
                "certificate source {id}: {e}; the server retries with backoff (`reportctl status` shows it; `reportctl cert sources --remove {id}` stops it)"
            ),
            (None, None) => bail!("certificate source {id}: no certificate and no error recorded"),
        };
        let lines = bind(ctx, &thumb, &a.bind)?;
        if ctx.json {
            print_json(
                &serde_json::json!({ "source": id, "thumbprint": thumb, "bindings": lines, "state": src.state }),
            )?;
        } else {
            println!("{thumb}");
            eprintln!(
                "Obtained certificate {thumb} for {} as source {id}; the server renews it {}.",
                names.join(", "),
                src.state
                    .next_attempt
                    .and_then(|t| t
                        .format(&time::format_description::well_known::Rfc3339)
                        .ok())
                    .map(|t| format!(
                        "at {t} ({})",
                        src.state.renewal_basis.as_deref().unwrap_or("")
                    ))
                    .unwrap_or_else(|| "before it expires".into())
            );
            for l in lines {
                eprintln!("{l}");
            }
        }
        Ok(0)
    }

    /// `cert acme --store Cluster`: the source goes to the cluster database (forced), and
    /// whichever node holds the renewer lock orders it; waits for that attempt.
    fn acme_cluster(ctx: &Ctx, a: AcmeArgs) -> anyhow::Result<i32> {
        if !a.bind.bind.is_empty() {
            bail!(
                "--bind binds a certificate of store My; a store Cluster certificate is served by central-store bindings: `reportctl ssl add APP --ccs PORT` on each node"
            );
        }
        if a.challenge != acme::order::ChallengeKind::Http01 {
            bail!(
                "store Cluster orders use --challenge http-01 (answered by every node from the database)"
            );
        }
        validate_order(&a)?;
        let url = mgmt::certops::cluster_url(&ctx.dd)?;
        let (names, kind) = acme_kind(&a)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let src = rt.block_on(async {
            let store = catalog::clustercerts::ClusterCerts::open(&url)?;
            let load = || async {
                let rows = store.sources().await?;
                anyhow::Ok(
                    rows.iter()
                        .filter_map(|r| serde_json::from_str::<Source>(&r.source).ok())
                        .collect::<Vec<_>>(),
                )
            };
            let all = load().await?;
            let mut s = all
                .iter()
                .find(|s| same_acme(s, &names, &a.directory))
                .cloned()
                .unwrap_or_else(|| Source::new(kind.clone(), &all));
            s.kind = kind.clone();
            s.state.force = true;
            let before = s.state.attempts;
            let id = s.id.clone();
            store
                .put_source(&id, &serde_json::to_string(&s)?, None)
                .await?;
            let deadline = Instant::now() + Duration::from_secs(a.timeout);
            loop {
                let now = load().await?;
                let src = now
                    .into_iter()
                    .find(|s| s.id == id)
                    .with_context(|| format!("certificate source {id} was removed meanwhile"))?;
                if src.state.attempts > before {
                    return anyhow::Ok(src);
                }
                if Instant::now() >= deadline {
                    bail!(
                        "no node made an attempt for cluster certificate source {id} within {} s; are the nodes running? `reportctl cluster status` and their logs tell",
                        a.timeout
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })?;
        let id = &src.id;
        let thumb = match (&src.state.last_error, &src.thumbprint) {
            (None, Some(t)) => t.clone(),
            (Some(e), _) => bail!(
                "cluster certificate source {id}: {e}; the nodes retry with backoff (`reportctl status` on any node shows it)"
            ),
            (None, None) => bail!("certificate source {id}: no certificate and no error recorded"),
        };
        if ctx.json {
            print_json(
                &serde_json::json!({ "source": id, "thumbprint": thumb, "store": "Cluster", "state": src.state }),
            )?;
        } else {
            println!("{thumb}");
            eprintln!(
                "Obtained certificate {thumb} for {} into store Cluster as source {id}; every node serves it on its central-store bindings, and one node renews it.",
                names.join(", ")
            );
        }
        Ok(0)
    }

    /// Checks the order options of `cert acme` (both stores) before anything is written.
    fn validate_order(a: &AcmeArgs) -> anyhow::Result<()> {
        let req = acme::order::OrderRequest {
            dns_names: &a.dns_names,
            directory: &a.directory,
            directory_ca: a.directory_ca.as_deref(),
            email: a.email.as_deref(),
            challenge: a.challenge,
        };
        acme::order::validate(&req)?;
        Ok(())
    }

    /// The ACME source `cert acme` asks for: its names (sorted, without repeats) and its
    /// kind, with `--directory-ca` made absolute (the server resolves it, not this shell).
    fn acme_kind(a: &AcmeArgs) -> anyhow::Result<(Vec<String>, SourceKind)> {
        let directory_ca = match &a.directory_ca {
            Some(p) => Some(std::path::absolute(p)?),
            None => None,
        };
        let mut names = a.dns_names.clone();
        names.sort();
        names.dedup();
        let kind = SourceKind::Acme {
            dns_names: names.clone(),
            directory: a.directory.clone(),
            directory_ca,
            email: a.email.clone(),
            challenge: a.challenge,
        };
        Ok((names, kind))
    }

    /// Whether `s` is the ACME source for the same names from the same CA (a repeated
    /// `cert acme` updates it instead of adding another).
    fn same_acme(s: &Source, names: &[String], directory: &str) -> bool {
        match &s.kind {
            SourceKind::Acme {
                dns_names,
                directory: d,
                ..
            } => *dns_names == names && d == directory,
            _ => false,
        }
    }

    /// Waits until source `id` has made an attempt after `before` attempts.
    fn wait_attempt(
        reg: &FileSources,
        id: &str,
        before: u64,
        timeout: u64,
    ) -> anyhow::Result<Source> {
        let deadline = Instant::now() + Duration::from_secs(timeout);
        loop {
            let src = reg
                .load()?
                .into_iter()
                .find(|s| s.id == id)
                .with_context(|| format!("certificate source {id} was removed meanwhile"))?;
            if src.state.attempts > before {
                return Ok(src);
            }
            if Instant::now() >= deadline {
                bail!(
                    "the server made no attempt for certificate source {id} within {timeout} s; `reportctl status` and the server log tell why"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn find(all: &[Source], key: &str) -> anyhow::Result<Source> {
        let t = key.parse::<Thumbprint>().ok().map(|t| t.to_string());
        all.iter()
            .find(|s| s.id == key || t.is_some() && s.thumbprint == t)
            .cloned()
            .with_context(|| {
                format!("no certificate source {key:?}; `reportctl cert sources` lists them")
            })
    }

    pub fn renew(ctx: &Ctx, key: &str, timeout: u64) -> anyhow::Result<i32> {
        let reg = FileSources::new(ctx.dd.clone());
        let src = find(&reg.load()?, key)?;
        if !ops::server_running(&ctx.dd) {
            bail!(
                "the server is not running: it renews certificate sources; start it first (`reportctl start`)"
            );
        }
        let mut before = 0;
        reg.update_one(&src.id, |s| {
            s.state.force = true;
            s.state.next_attempt = None;
            before = s.state.attempts;
        })?;
        ops::apply(&ctx.dd)?;
        let after = wait_attempt(&reg, &src.id, before, timeout)?;
        if let Some(e) = &after.state.last_error {
            bail!(
                "certificate source {}: {e}; the certificate {} is still served",
                src.id,
                after.thumbprint.as_deref().unwrap_or("(none)")
            );
        }
        let t = after.thumbprint.unwrap_or_default();
        if ctx.json {
            print_json(&serde_json::json!({ "source": src.id, "thumbprint": t }))?;
        } else {
            println!("{t}");
        }
        Ok(0)
    }

    pub fn list(ctx: &Ctx, remove: Option<&str>) -> anyhow::Result<i32> {
        let reg = FileSources::new(ctx.dd.clone());
        if let Some(key) = remove {
            let src = find(&reg.load()?, key)?;
            reg.update(|all| {
                all.retain(|s| s.id != src.id);
                Ok(())
            })?;
            reg.remove_account(&src.id);
            let applied = ops::apply(&ctx.dd)?;
            println!(
                "Stopped following certificate source {} ({}); its certificate and bindings stay; {}.",
                src.id,
                src.describe(),
                applied.describe()
            );
            return Ok(0);
        }
        print_sources(ctx, &reg.load()?)
    }

    /// `cert sources --store Cluster [--remove ID]`: the cluster's sources.
    pub fn list_cluster(ctx: &Ctx, remove: Option<&str>) -> anyhow::Result<i32> {
        let url = mgmt::certops::cluster_url(&ctx.dd)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let store = catalog::clustercerts::ClusterCerts::open(&url)?;
            let all: Vec<Source> = store
                .sources()
                .await?
                .iter()
                .filter_map(|r| serde_json::from_str(&r.source).ok())
                .collect();
            if let Some(key) = remove {
                let src = find(&all, key)?;
                store.remove_source(&src.id).await?;
                println!(
                    "Stopped following cluster certificate source {} ({}); its certificate stays in store Cluster.",
                    src.id,
                    src.describe()
                );
                return Ok(0);
            }
            print_sources(ctx, &all)
        })
    }

    fn print_sources(ctx: &Ctx, all: &[Source]) -> anyhow::Result<i32> {
        if ctx.json {
            print_json(&all)?;
            return Ok(0);
        }
        if all.is_empty() {
            println!(
                "No certificate sources; add one with `reportctl cert acme` or `reportctl cert watch`."
            );
        }
        for s in all {
            let mut line = format!(
                "{}  {}  {}",
                s.id,
                s.thumbprint.as_deref().unwrap_or("(none yet)"),
                s.describe()
            );
            if let Some(t) = s.state.next_attempt.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }) {
                line.push_str(&format!("  next {t}"));
            }
            if let Some(e) = &s.state.last_error {
                line.push_str(&format!("  [failing: {e}]"));
            }
            println!("{line}");
        }
        Ok(0)
    }
}

/// Reads what `cert import` names (`--pfx` with `--password-file`, or `--pem` with an
/// optional `--key`) and hands it to `f`; returns the file read and what `f` returned.
fn with_import_input<T>(
    a: &ImportArgs,
    f: impl FnOnce(mgmt::certops::ImportInput<'_>) -> T,
) -> anyhow::Result<(&Path, T)> {
    if let Some(path) = &a.pfx {
        let pw_file = a.password_file.as_deref().context(
            "--password-file is required with --pfx: a file whose first line is the PFX password (an empty line for none)",
        )?;
        let password = read_password(pw_file)?;
        let bytes = read_input(path)?;
        let input = mgmt::certops::ImportInput::Pfx {
            bytes: &bytes,
            password: &password,
        };
        Ok((path, f(input)))
    } else if let Some(path) = &a.pem {
        let cert = read_input(path)?;
        let key = match &a.key {
            Some(k) => Some(Zeroizing::new(read_input(k)?)),
            None => None,
        };
        let input = mgmt::certops::ImportInput::Pem {
            cert: &cert,
            key: key.as_ref().map(|k| k.as_slice()),
        };
        Ok((path, f(input)))
    } else {
        bail!("say what to import: --pfx FILE --password-file F, or --pem CERT [--key KEY]");
    }
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_password(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    datadir::read_password_file(path).context("cannot read the password file (--password-file)")
}

fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
