//! `oriel`: the Oriel daemon. `oriel start` runs the proxy and a Linux
//! desktop service in one process; they speak TDPB over an in-process pipe,
//! exactly as they will over the network once they run apart.

mod bootstrap;
mod config;
mod labels;
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
    /// Run one desktop session (started by the Linux desktop service, with
    /// its sockets in place; not for people to run).
    #[command(hide = true)]
    Session,
    /// Run one Windows desktop session over RDP (started by the Windows
    /// desktop service, with its sockets in place; not for people to run).
    #[command(hide = true)]
    RdpSession,
    /// Print a commented sample oriel.yaml, or check one (`--check FILE`).
    Configure {
        /// Validate this file instead: exit 0 when it is good, 1 with the
        /// key, line and column of the first mistake when it is not.
        #[arg(long, value_name = "FILE")]
        check: Option<std::path::PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ORIEL_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        // By default a log line that cannot be written is reported with
        // eprintln!, which panics when stderr is a pipe nobody reads any
        // more (a supervisor that went away): the task logging it dies, and
        // "shutting down" on SIGTERM then never shut anything down.
        .log_internal_errors(false)
        .init();
    let cli = Cli::parse();
    if let Command::Session = cli.command {
        // Before any runtime or thread exists: the session process forks.
        oriel_linux_desktop::session_process::root::main();
    }
    if let Command::RdpSession = cli.command {
        // Drops root before it starts a runtime of its own.
        std::process::exit(oriel_windows_desktop::session::main().into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Start(args) => runtime.block_on(start::run(args)),
        Command::Session | Command::RdpSession => unreachable!("handled before the runtime starts"),
        Command::Configure { check: None } => {
            print!("{}", config::SAMPLE);
            Ok(())
        }
        Command::Configure { check: Some(file) } => {
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let config = config::Config::parse(&file.display().to_string(), &text)?;
            println!("{} is valid; it runs: {}", file.display(), config.services().join(", "));
            Ok(())
        }
    }
}
