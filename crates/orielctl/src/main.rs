//! `orielctl`: administer an Oriel cluster. Works on the auth service's
//! data directory when run on the auth host, or through the auth service's
//! admin API (`--auth-server` with an identity from `orielctl auth sign`).

mod cli;
mod commands;
mod export;
mod fetch;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            // 1 is `access check`'s "denied"; failures are 2.
            ExitCode::from(2)
        }
    }
}
