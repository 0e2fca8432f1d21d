//! `oriel-bench`: Oriel's benchmarks on real parts (Xvfb, openbox, xterm,
//! the real desktop service and, for latency, the real `oriel` binary;
//! `relay` and `heartbeats` wire the cluster's real parts in-process).
//! Each subcommand prints a markdown section; `BENCHMARKS.md` keeps the
//! latest numbers and what they mean.

mod browser;
mod capture_encode;
mod cpu;
mod desktop;
mod events;
mod heartbeats;
mod idle_sessions;
mod key_logins;
mod keys;
mod latency;
mod logins;
mod proxy;
mod rdp;
mod recording;
mod relay;
mod report;
mod scenarios;
mod shared_dir;
mod side;
mod sso_logins;
mod teleport_style;
mod video;
mod viewers;
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
    /// Logins per second through the control plane: password + TOTP, password +
    /// security key, and OIDC single sign-on against a real provider (node) on loopback.
    Logins {
        #[arg(long, default_value_t = 40)]
        count: usize,
        /// Tasks sending wrong logins while `count` more real logins run (0: no flood).
        #[arg(long, default_value_t = 64)]
        flood: usize,
    },
    /// Key to echo and throughput of one session: in-process pipe, reverse tunnel, direct dial.
    Relay {
        #[arg(long, default_value_t = 300)]
        rounds: usize,
        /// Length of each throughput scenario.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// The auth service's cluster API under many desktop services' heartbeats.
    Heartbeats {
        #[arg(long, default_value_t = 1000)]
        desktops: usize,
        /// Length of the phase at the real rate (one beat per desktop every 15 s).
        #[arg(long, default_value_t = 45.0)]
        seconds: f64,
        /// Length of the phase where every desktop beats as fast as it can.
        #[arg(long, default_value_t = 10.0)]
        saturation_seconds: f64,
    },
    /// Recording: bytes per minute and extra CPU per scenario, and seeks in an hour-long recording.
    Recording {
        /// Length of each scenario.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Audit events written per second and listings out of many, on SQLite and PostgreSQL.
    Events {
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
    },
    /// Sequential read and write through a shared directory's FUSE mount.
    SharedDir {
        /// MiB written and read, per call size.
        #[arg(long, default_value_t = 256)]
        mib: usize,
    },
    /// Memory and CPU of idle Xfce sessions, added in steps until memory or CPU says stop.
    IdleSessions {
        /// Sessions of the first measured step.
        #[arg(long, default_value_t = 5)]
        first: usize,
        /// Sessions added per step after the first.
        #[arg(long, default_value_t = 5)]
        step: usize,
        /// At most this many sessions.
        #[arg(long, default_value_t = 40)]
        max: usize,
        /// Quiet time after a step's sessions came up, before measuring.
        #[arg(long, default_value_t = 10.0)]
        settle_seconds: f64,
        /// Length of each step's measured interval.
        #[arg(long, default_value_t = 30.0)]
        seconds: f64,
    },
    /// A 1280x720 video playing: bytes and CPU with VP8 for the region in motion, and with exact pixels only.
    Video {
        /// Length of each measured run.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Resume time after a dropped connection; frames and CPU with 1, 2 and 5 viewers on one session.
    Viewers {
        /// Resumes timed.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// Length of each shared scenario.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// A Windows desktop's path (RDP to FreeRDP's shadow server) beside a
    /// Linux desktop's: typing, dragging, `seq` and key to frame latency.
    Rdp {
        /// Length of each workload.
        #[arg(long, default_value_t = 8.0)]
        seconds: f64,
        /// Keys timed for latency on each path.
        #[arg(long, default_value_t = 100)]
        rounds: usize,
    },
    /// capture-encode, scenarios, latency and logins with the default settings
    /// (not relay or heartbeats, which take about 3 more minutes).
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
    // The proxy's side of `relay`. It outlives the service runtime: the
    // service keeps a tunnel to it and would log losing it.
    let mut proxy = None;
    let commands = match cli.command {
        Command::All => vec![
            Command::CaptureEncode { iterations: 50 },
            Command::Scenarios { seconds: 10.0 },
            Command::Latency { rounds: 300, no_proxy: false },
            Command::Logins { count: 40, flood: 64 },
        ],
        one => vec![one],
    };
    for command in commands {
        let section = match command {
            // On a thread of its own: it pins itself to one core.
            Command::CaptureEncode { iterations } => {
                std::thread::spawn(move || capture_encode::run(iterations)).join().map_err(|_| anyhow::anyhow!("capture-encode panicked"))?
            }
            Command::Scenarios { seconds } => driver.block_on(interruptible(scenarios::run(&service, seconds))),
            Command::Video { seconds } => driver.block_on(interruptible(video::run(&service, seconds))),
            Command::Latency { rounds, no_proxy } => driver.block_on(interruptible(latency::run(&service, rounds, !no_proxy))),
            Command::Logins { count, flood } => driver.block_on(interruptible(logins::run(count, flood))),
            Command::Relay { rounds, seconds } => {
                let proxy = proxy.insert(side::Side::new(cpu::PROXY_THREADS, 2)?);
                driver.block_on(interruptible(relay::run(&service, proxy, rounds, seconds)))
            }
            Command::Heartbeats { desktops, seconds, saturation_seconds } => {
                driver.block_on(interruptible(heartbeats::run(desktops, seconds, saturation_seconds)))
            }
            Command::SharedDir { mib } => driver.block_on(interruptible(shared_dir::run(mib))),
            Command::Events { count } => driver.block_on(interruptible(events::run(count))),
            Command::Recording { seconds } => driver.block_on(interruptible(recording::run(&service, seconds))),
            Command::Viewers { rounds, seconds } => driver.block_on(interruptible(viewers::run(&service, rounds, seconds))),
            Command::Rdp { seconds, rounds } => driver.block_on(interruptible(rdp::run(&service, seconds, rounds))),
            Command::IdleSessions { first, step, max, settle_seconds, seconds } => {
                let settings = idle_sessions::Settings {
                    first: first.max(1),
                    step: step.max(1),
                    max,
                    settle: std::time::Duration::from_secs_f64(settle_seconds),
                    measure: std::time::Duration::from_secs_f64(seconds),
                };
                driver.block_on(interruptible(idle_sessions::run(&service, settings)))
            }
            Command::All => unreachable!("expanded above"),
        }?;
        println!("{section}\n_{}_\n", cpu::load_average("after this section"));
    }
    // Sessions stop their Xvfb from a thread that must get to run.
    service.shutdown_timeout(std::time::Duration::from_secs(3));
    drop(proxy);
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
