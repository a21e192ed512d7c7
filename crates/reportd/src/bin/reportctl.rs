//! `reportctl`: parses the command line and hands it to `reportd::ctl`.
//! Failures print one line on stderr (`reportctl: error: ...`) and exit 1.

use clap::Parser;

fn main() {
    let cli = reportd::ctl::Cli::parse();
    match reportd::ctl::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("reportctl: error: {}", one_line(&e));
            std::process::exit(1);
        }
    }
}

/// The error and its causes on one line: "what failed: why".
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}
