//! `reportctl`: parses the command line and hands it to `reportd::ctl`.
//! Failures print one line on stderr (`reportctl: error: ...`) and exit 1.

use clap::Parser;

fn main() {
    let cli = reportd::ctl::Cli::parse();
    match reportd::ctl::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("reportctl: error: {}", reportd::error_line(&e));
            std::process::exit(1);
        }
    }
}
