//! `reportd`: the report server in the foreground (systemd, containers), or `quickstart`.
//! Parses flags, sets up logging, and calls `reportd::serve::run`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use datadir::{DataDir, LogFormat};

/// mimalloc, not glibc malloc: a render builds and drops a large instance tree, and glibc's
/// heap growth and trimming cost page faults; bench/render.sh measured XML/JSON/HTML5 and
/// SQLite CSV 1.5-2x more rows per server CPU-second with it (same RSS).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "reportd",
    version,
    about = "reportd: a native-mode report server"
)]
struct Cli {
    /// Data dir of the instance (else $REPORTD_DATA_DIR, else ./reportd-data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Management socket path (default: reportd.sock in the data dir).
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Log format on stderr, human or json (default: the LogFormat setting, else human).
    #[arg(long, global = true, value_name = "human|json")]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve the data dir in the foreground (the default).
    Serve,
    /// Create a ready-to-use instance if the data dir has none, then serve it.
    Quickstart {
        /// https port of a new instance (default 8443); an existing one must serve it.
        #[arg(long)]
        https_port: Option<u16>,
        /// http port of a new instance (default 8080); an existing one must serve it.
        #[arg(long)]
        http_port: Option<u16>,
        /// File whose first line is the password of the administrator `admin`.
        #[arg(long, value_name = "FILE")]
        admin_password_file: Option<PathBuf>,
    },
}

fn main() {
    // No transparent huge pages: mimalloc madvises its arenas MADV_HUGEPAGE, and then every
    // 2 MiB region a thread touches is resident at once. bench/render.sh measured the RSS
    // growth of a 100,000-row CSV/XML/JSON render at 5.2-6x the data with them, 2.0-2.7x
    // without (and less CPU: no 2 MiB pages cleared and compacted).
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    // Before any other thread: it edits the environment (LISTEN_FDS).
    let inherited = reportd::serve::take_inherited_sockets();
    let cli = Cli::parse();
    let dd = DataDir::resolve(cli.data_dir.as_deref()).with_socket(cli.socket.clone());
    let settings = dd.load_config().ok().map(|c| c.settings);
    let format = cli
        .log_format
        .unwrap_or_else(|| settings.as_ref().map(|s| s.log_format).unwrap_or_default());
    let (max_mb, keep) = settings.as_ref().map_or(
        (
            datadir::limits::defaults::log_max_size_mb(),
            datadir::limits::defaults::log_max_files(),
        ),
        |s| (s.log_max_size_mb, s.log_max_files),
    );
    init_logging(format, u64::from(max_mb) * 1024 * 1024, keep);
    match inherited {
        Ok(lines) => lines.iter().for_each(|l| tracing::info!("{l}")),
        Err(e) => fail(e),
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail(anyhow::anyhow!("cannot start the runtime: {e}")),
    };
    let result = rt.block_on(async move {
        match cli.command.unwrap_or(Cmd::Serve) {
            Cmd::Serve => reportd::serve::run(dd, Vec::new()).await,
            Cmd::Quickstart {
                https_port,
                http_port,
                admin_password_file,
            } => {
                let opts = reportd::quickstart::QuickstartOptions {
                    http_port,
                    https_port,
                    admin_password_file,
                };
                reportd::quickstart::run(dd, opts).await
            }
        }
    });
    if let Err(e) = result {
        fail(e);
    }
}

/// Logs to stderr through the bounded sink (rotation by size when stderr is a file,
/// repeats held back, long lines cut): see `reportd::logfile`.
fn init_logging(format: LogFormat, max_bytes: u64, keep: u32) {
    use reportd::logfile::{LogSink, SinkHandle};
    use tracing_subscriber::EnvFilter;
    // rustls warns about misbehaving peers with what they sent (a 15 KB server name, in
    // full): client-controlled, so only its errors by default; the listener logs handshake
    // failures itself (escaped, at debug).
    let filter = EnvFilter::try_from_env("REPORTD_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,rustls=error"));
    let sink = LogSink::install(matches!(format, LogFormat::Json), max_bytes, keep);
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(sink.ansi())
        .with_writer(SinkHandle(sink));
    match format {
        LogFormat::Human => b.init(),
        LogFormat::Json => b.json().init(),
    }
}

fn fail(e: anyhow::Error) -> ! {
    eprintln!("reportd: error: {}", reportd::error_line(&e));
    std::process::exit(1);
}
