//! `oriel-bench`: Oriel's benchmarks on real parts (Xvfb, openbox, xterm,
//! the real desktop service and, for latency, the real `oriel` binary).
//! Each subcommand prints a markdown section; `BENCHMARKS.md` keeps the
//! latest numbers and what they mean.

mod browser;
mod capture_encode;
mod cpu;
mod desktop;
mod keys;
mod latency;
mod logins;
mod proxy;
mod report;
mod scenarios;
mod xclients;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "oriel-bench", about = "Benchmarks of Oriel on a real X server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Clone, Copy)]
enum Command {
    /// MIT-SHM capture and QOIZ encode of a full busy 1920x1080 screen, on one core.
    CaptureEncode {
        #[arg(long, default_value_t = 50)]
        iterations: usize,
    },
    /// Bytes, frames and CPU of a real session: idle, typing, seq, dragging.
    Scenarios {
        /// Length of each scenario.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Key press to echo frame, in-process and through the real proxy.
    Latency {
        #[arg(long, default_value_t = 300)]
        rounds: usize,
        /// Skip the run through the `oriel` binary.
        #[arg(long)]
        no_proxy: bool,
    },
    /// Password + TOTP logins per second through the control plane.
    Logins {
        #[arg(long, default_value_t = 40)]
        count: usize,
    },
    /// Everything above with the default settings.
    All,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ORIEL_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    println!("# oriel-bench, {} (UTC)\n\n{}\n", today(), cpu::machine());
    let service = desktop::service_runtime()?;
    let driver = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let commands = match cli.command {
        Command::All => vec![
            Command::CaptureEncode { iterations: 50 },
            Command::Scenarios { seconds: 10.0 },
            Command::Latency { rounds: 300, no_proxy: false },
            Command::Logins { count: 40 },
        ],
        one => vec![one],
    };
    for command in commands {
        let section = match command {
            // On a thread of its own: it pins itself to one core.
            Command::CaptureEncode { iterations } => std::thread::spawn(move || capture_encode::run(iterations))
                .join()
                .map_err(|_| anyhow::anyhow!("capture-encode panicked"))?,
            Command::Scenarios { seconds } => driver.block_on(interruptible(scenarios::run(&service, seconds))),
            Command::Latency { rounds, no_proxy } => driver.block_on(interruptible(latency::run(&service, rounds, !no_proxy))),
            Command::Logins { count } => driver.block_on(interruptible(logins::run(count))),
            Command::All => unreachable!("expanded above"),
        }?;
        println!("{section}\n_{}_\n", cpu::load_average("after this section"));
    }
    // Sessions stop their Xvfb from a thread that must get to run.
    service.shutdown_timeout(std::time::Duration::from_secs(3));
    Ok(())
}

/// Stops at Ctrl+C, dropping the benchmark so its sessions and X clients stop.
async fn interruptible(run: impl Future<Output = anyhow::Result<String>>) -> anyhow::Result<String> {
    tokio::select! {
        result = run => result,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
    }
}

/// Today's date, YYYY-MM-DD, from the system clock (civil-from-days).
fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
