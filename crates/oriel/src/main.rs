//! `oriel`: the Oriel daemon. `oriel start` runs the proxy and a Linux
//! desktop service in one process; they speak TDPB over an in-process pipe,
//! exactly as they will over the network once they run apart.

mod bootstrap;
mod registration;
mod start;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "oriel", version, about = "Desktop access gateway: Linux desktops in the browser")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy and a Linux desktop service in one process.
    Start(start::StartArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ORIEL_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Start(args) => runtime.block_on(start::run(args)),
    }
}
